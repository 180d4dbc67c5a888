"""VoiceXML documents a tenant uploaded (validated before they are stored)."""

from __future__ import annotations

from sqlalchemy import Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from helpline.db.base import Base, TenantOwned, Timestamped


class VxmlDocument(TenantOwned, Timestamped, Base):
    """One VoiceXML document of a tenant, by name; ``source`` is the text as uploaded."""

    __tablename__ = "vxml_documents"
    __table_args__ = (UniqueConstraint("tenant_id", "name"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(100))
    source: Mapped[str] = mapped_column(Text)
    size_bytes: Mapped[int] = mapped_column(Integer)
