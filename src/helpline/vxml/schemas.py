"""API shapes for VoiceXML documents: upload as JSON text, list without the source."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field

from helpline.vxml.parser import MAX_SOURCE_BYTES

Name = Annotated[str, Field(pattern=r"^[A-Za-z0-9][A-Za-z0-9._-]{0,99}$")]


class VxmlDocumentCreate(BaseModel):
    """A new document: its name and its VoiceXML text."""

    model_config = ConfigDict(extra="forbid")

    name: Name
    source: str = Field(min_length=1, max_length=MAX_SOURCE_BYTES)


class VxmlDocumentOut(BaseModel):
    """A document as lists show it."""

    model_config = ConfigDict(from_attributes=True)

    id: int
    name: str
    size_bytes: int
    created_at: datetime
    updated_at: datetime


class VxmlDocumentDetail(VxmlDocumentOut):
    """A document with its text."""

    source: str
