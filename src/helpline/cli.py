"""The ``helpline`` command: serve, db upgrade, tenant create, user create, demo."""

from __future__ import annotations

import argparse
import asyncio
import logging
import os
import sys
from collections.abc import Awaitable, Callable, Sequence
from pathlib import Path

from pydantic import ValidationError

from helpline import __version__, bootstrap
from helpline.config import Settings, load_settings
from helpline.core.errors import ApiError
from helpline.core.passwords import generate_password
from helpline.runtime import Runtime
from helpline.server import StartupError, prepare, serve
from helpline.tenants import service as tenants
from helpline.tenants.models import Tier
from helpline.tenants.schemas import TenantCreate
from helpline.users import service as users
from helpline.users.models import Role
from helpline.users.schemas import UserCreate

log = logging.getLogger("helpline")


def _say(line: str) -> None:
    sys.stdout.write(line + "\n")
    sys.stdout.flush()


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="helpline", description=__doc__)
    parser.add_argument("--version", action="version", version=f"helpline {__version__}")
    parser.add_argument("--config", type=Path, help="TOML configuration file")
    sub = parser.add_subparsers(dest="command", required=True)
    sub.add_parser("serve", help="run HTTP, SIP, media and background jobs")
    db = sub.add_parser("db", help="database maintenance")
    db_sub = db.add_subparsers(dest="db_command", required=True)
    db_sub.add_parser("upgrade", help="apply migrations")
    tenant = sub.add_parser("tenant", help="tenants")
    tenant_sub = tenant.add_subparsers(dest="tenant_command", required=True)
    tc = tenant_sub.add_parser("create", help="create a tenant")
    tc.add_argument("slug")
    tc.add_argument("--name", required=True)
    tc.add_argument("--tier", choices=[t.value for t in Tier], default=Tier.SMALL.value)
    tc.add_argument("--timezone", default="UTC")
    tc.add_argument("--admin", metavar="USERNAME", help="also create this tenant admin")
    user = sub.add_parser("user", help="users")
    user_sub = user.add_subparsers(dest="user_command", required=True)
    uc = user_sub.add_parser("create", help="create a user")
    uc.add_argument("username")
    uc.add_argument("--tenant", required=True)
    uc.add_argument("--role", choices=[r.value for r in Role], default=Role.AGENT.value)
    uc.add_argument("--display-name", default="")
    sub.add_parser("demo", help="load the demo tenant")
    return parser


async def _with_db(settings: Settings, work: Callable[[Runtime], Awaitable[None]]) -> None:
    runtime = Runtime.build(settings)
    try:
        await prepare(runtime, report=_say)
        await work(runtime)
    finally:
        await runtime.close()


def _password_from_env() -> tuple[str, bool]:
    given = os.environ.get("HELPLINE_NEW_PASSWORD")
    return (given, False) if given else (generate_password(), True)


async def _tenant_create(runtime: Runtime, args: argparse.Namespace) -> None:
    async with runtime.unit_of_work() as session:
        tenant = await tenants.create_tenant(
            session,
            data=TenantCreate(
                slug=args.slug, name=args.name, tier=Tier(args.tier), timezone=args.timezone
            ),
            actor=None,
        )
        _say(
            f"tenant {tenant.slug} created (id {tenant.id}, {tenant.max_lines} lines, "
            f"{tenant.max_agents} agents, {tenant.max_ivr_ports} IVR ports)"
        )
        if args.admin:
            password, generated = _password_from_env()
            await users.create_user(
                session,
                tenant_id=tenant.id,
                data=UserCreate(username=args.admin, password=password, role=Role.TENANT_ADMIN),
                actor=None,
            )
            _say(
                f"tenant admin {args.admin} created"
                + (f"; generated password, shown once: {password}" if generated else "")
            )


async def _user_create(runtime: Runtime, args: argparse.Namespace) -> None:
    async with runtime.unit_of_work() as session:
        tenant = await tenants.by_slug(session, args.tenant)
        if tenant is None:
            raise StartupError(f"no tenant {args.tenant!r}")
        password, generated = _password_from_env()
        user = await users.create_user(
            session,
            tenant_id=tenant.id,
            data=UserCreate(
                username=args.username,
                password=password,
                role=Role(args.role),
                display_name=args.display_name,
            ),
            actor=None,
        )
        _say(
            f"user {user.username}@{tenant.slug} ({user.role.value}) created"
            + (f"; generated password, shown once: {password}" if generated else "")
        )


async def _demo(runtime: Runtime) -> None:
    async with runtime.unit_of_work() as session:
        created = await bootstrap.load_demo(session, runtime.settings)
    for line in created.lines:
        _say(f"generated password, shown once: {line}")
    _say(f"demo tenant {bootstrap.DEMO_TENANT!r} ready")


def _run(args: argparse.Namespace, settings: Settings) -> None:
    if args.command == "serve":
        _install_loop()
        asyncio.run(serve(settings, report=_say))
    elif args.command == "db":
        asyncio.run(_with_db(settings, lambda rt: asyncio.sleep(0)))
        _say("database is up to date")
    elif args.command == "tenant":
        asyncio.run(_with_db(settings, lambda rt: _tenant_create(rt, args)))
    elif args.command == "user":
        asyncio.run(_with_db(settings, lambda rt: _user_create(rt, args)))
    elif args.command == "demo":
        asyncio.run(_with_db(settings, _demo))


def _install_loop() -> None:
    try:
        import uvloop
    except ImportError:
        return
    asyncio.set_event_loop_policy(uvloop.EventLoopPolicy())


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the ``helpline`` console command."""
    args = _parser().parse_args(argv)
    if args.config is not None:
        if not args.config.is_file():
            _say(f"helpline: configuration file {args.config} not found")
            return 2
        os.environ["HELPLINE_CONFIG"] = str(args.config)
    try:
        settings = load_settings()
    except ValidationError as exc:
        _say(f"helpline: invalid configuration: {exc.errors()[0]['loc']}: {exc.errors()[0]['msg']}")
        return 2
    logging.basicConfig(
        level=settings.log_level.upper(), format="%(asctime)s %(levelname)s %(name)s: %(message)s"
    )
    try:
        _run(args, settings)
    except StartupError as exc:
        _say(f"helpline: {exc}")
        return 1
    except ApiError as exc:
        _say(f"helpline: {exc.message}")
        return 1
    except KeyboardInterrupt:
        return 130
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
