"""The composition root: builds the core's services from the settings."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from app_integration.adapters.mattermost.rest import MattermostChat
from app_integration.adapters.redmine.change_feed import RedmineChangeFeed
from app_integration.adapters.redmine.finder import RedmineFinder
from app_integration.adapters.redmine.gateway import RedmineGateway
from app_integration.adapters.redmine.http_engine import bound_calls
from app_integration.adapters.redmine.outsiders import RedmineOutsiders
from app_integration.adapters.redmine.project_activity import RedmineProjectActivity
from app_integration.adapters.redmine.ticket_desk import RedmineTickets
from app_integration.adapters.redmine.ticket_fields import RedmineFieldCatalog
from app_integration.adapters.redmine.uploads import RedmineAttachments
from app_integration.adapters.runtime.user_map import build_user_map
from app_integration.adapters.store.key_vault import KeyVault
from app_integration.adapters.store.outbox_store import OutboxTable
from app_integration.adapters.store.state_store import BridgeStore
from app_integration.adapters.store.subscription_store import SubscriptionTables
from app_integration.core.commands.registry import build_registry
from app_integration.core.dispatch import CommandRegistry
from app_integration.core.identity import Directory
from app_integration.core.services import Services
from app_integration.core.settings import Settings


@dataclass
class Bridge:
    settings: Settings
    services: Services
    gateway: RedmineGateway
    chat: MattermostChat
    store: BridgeStore
    users: Directory
    registry: CommandRegistry
    vault: KeyVault
    subscriptions: SubscriptionTables
    outbox: OutboxTable


def build_bridge(settings: Settings, env_file: Path | None, migrate: bool = True) -> Bridge:
    """The bridge's parts, wired. `migrate=False` where the store was migrated once already, before gunicorn
    forked its workers: a worker builds its parts and touches nothing."""
    operator_map = build_user_map(settings, env_file)
    gateway = RedmineGateway(
        settings.redmine_base_url,
        settings.admin_redmine_key_api.get_secret_value(),
        settings.redmine_connect_timeout,
        settings.redmine_read_timeout,
        settings.redmine_cache_ttl,
    )
    bound_calls(settings.redmine_max_calls)
    token = settings.redmine_mattermost_bridge_app_token
    chat = MattermostChat(settings.mattermost_base_url, token.get_secret_value() if token else "")
    store = BridgeStore(settings.database_url, settings.idempotency_ttl_hours)
    if migrate:
        store.migrate()
    vault = KeyVault(settings.link_encryption_keys.get_secret_value() if settings.link_encryption_keys else None)
    users = Directory(store, operator_map, gateway, sealer=vault, chat=chat)
    gateway.use_credentials(users.personal_key, users.key_refused, settings.redmine_impersonation)
    subscriptions = SubscriptionTables(store.engine)
    outbox = OutboxTable(store.engine)
    catalog = RedmineFieldCatalog(gateway, settings.redmine_cache_ttl)
    feed = RedmineChangeFeed(gateway, settings.redmine_cache_ttl, catalog)
    services = Services(
        tracker=gateway,
        chat=chat,
        users=users,
        store=store,
        list_limit=settings.ticket_list_limit,
        sealer=vault,
        connect_by_email=settings.connect_by_email,
        connect_by_key=settings.connect_by_key and vault.available,
        concurrency=settings.redmine_concurrency,
        feed=feed,
        desk=RedmineTickets(gateway, feed, catalog),
        attachments=RedmineAttachments(gateway),
        fields=catalog,
        finder=RedmineFinder(gateway, settings.redmine_cache_ttl),
        activity=RedmineProjectActivity(gateway),
        outsiders=RedmineOutsiders(gateway, settings.redmine_cache_ttl),
        subscriptions=subscriptions,
        outbox=outbox,
        default_locale=settings.default_locale,
    )
    return Bridge(settings, services, gateway, chat, store, users, build_registry(), vault, subscriptions, outbox)
