"""The ``[sync]`` table: how a sync behaves (deletes, guards, matching, state, attributes)."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator

from provision.mapping import GROUP_ATTRIBUTES, USER_ATTRIBUTES


class SyncSettings(BaseModel):
    """How a sync behaves: the ``[sync]`` table."""

    model_config = ConfigDict(extra="forbid")

    on_delete: Literal["deactivate", "delete", "ignore"] = Field(
        "deactivate",
        description="What happens to a synced user whose source user is gone: deactivate "
        "it, delete it, or leave it. Groups gone from the source are deleted unless this "
        "is 'ignore'.",
    )
    unmatched: Literal["report", "deactivate", "ignore"] = Field(
        "report",
        description="Target objects linked to nothing whose externalId looks like a key of "
        "this source but names no source object (the state was lost, or a leaver's link "
        "went): list them in every report, deactivate them (users only, within the guards), "
        "or ignore them.",
    )
    max_deletes: int = Field(
        50,
        ge=0,
        description="A run that would deactivate or delete more users than this stops "
        "before writing (override once with --allow-deletes).",
    )
    max_delete_percent: float = Field(
        20,
        ge=0,
        le=100,
        description="The same guard as a percentage of the active users the sync owns "
        "(users already deactivated do not count).",
    )
    max_group_deletes: int = Field(
        10, ge=0, description="A run that would delete more groups than this stops."
    )
    max_group_delete_percent: float = Field(
        20,
        ge=0,
        le=100,
        description="The same guard as a percentage of the groups the sync owns.",
    )
    max_member_removals: int = Field(
        500,
        ge=0,
        description="A run that would remove more group memberships than this, in all, stops.",
    )
    max_member_removal_percent: float = Field(
        50,
        ge=0,
        le=100,
        description="A run that would remove more than this share of one group's synced "
        "members (and more than 10 of them) stops: a group read back empty.",
    )
    state: str = Field(
        "provision-state.db",
        description="The SQLite file holding links and run history; relative paths are "
        "relative to the configuration file.",
    )
    user_attributes: list[str] = Field(
        default_factory=lambda: list(USER_ATTRIBUTES),
        description="User attributes the sync compares and writes (SCIM names; extension "
        "schemas by URN). externalId always is.",
    )
    group_attributes: list[str] = Field(
        default_factory=lambda: list(GROUP_ATTRIBUTES),
        description="Group attributes the sync compares and writes; members always are.",
    )
    match_users_by: Literal["userName", "none"] = Field(
        "userName",
        description="Natural key that adopts an existing target user not yet linked "
        "(after the link store and externalId); 'none' adopts by externalId only.",
    )
    adopt_leavers: bool = Field(
        False,
        description="A new source user whose userName is held by the account of a source "
        "user that is gone adopts that account (true: a user deleted and re-created keeps "
        "their account and its grants), or gets a new one while the leaver's name is freed "
        "(false: a previous person's account is never handed to another identity).",
    )
    match_groups_by: Literal["displayName", "none"] = Field(
        "displayName",
        description="Natural key that adopts an existing target group not yet linked.",
    )

    @field_validator("user_attributes", "group_attributes")
    @classmethod
    def _no_empty_names(cls, value: list[str]) -> list[str]:
        if any(not name.strip() for name in value):
            raise ValueError("attribute names must not be empty")
        return value

    @field_validator("user_attributes")
    @classmethod
    def _user_name_is_synced(cls, value: list[str]) -> list[str]:
        if "userName" not in value:
            raise ValueError("must include 'userName' (every target user needs one)")
        return value

    @field_validator("group_attributes")
    @classmethod
    def _display_name_is_synced(cls, value: list[str]) -> list[str]:
        if "displayName" not in value:
            raise ValueError("must include 'displayName' (every target group needs one)")
        return value
