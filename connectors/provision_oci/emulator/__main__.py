"""``python -m provision_oci.emulator``."""

from provision_oci.emulator.command import main

main()
