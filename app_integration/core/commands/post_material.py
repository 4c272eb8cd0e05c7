"""What a post, or its whole thread, brings into Redmine: the text with who wrote it and when, its files, and
whether its channel is public. It is read only where the person may read the channel (asked of Mattermost for
their verified id), and files leave Mattermost only within Redmine's size limit.

What comes from a channel that is not public goes into Redmine no less privately: core/privacy.py, rule 3."""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass

from app_integration.core.errors import BridgeError, NotFound, PermissionDenied
from app_integration.core.formatting import link, megabytes, plain
from app_integration.core.i18n import _, ngettext
from app_integration.core.models import ChatPost, CommandContext, Upload
from app_integration.core.services import Services

MAX_NOTE = 20_000  # characters: a longer thread is cut, and the note links to the rest in Mattermost
POST_REF = re.compile(r"(?:/pl/|^)([a-z0-9]{26})/?$")


@dataclass(frozen=True)
class Material:
    post: ChatPost  # the post named
    posts: tuple[ChatPost, ...]  # it alone, or its whole thread, oldest first
    public: bool  # its channel is open: anyone in the team may read it
    link: str  # the named post's permalink

    @property
    def file_ids(self) -> tuple[str, ...]:
        return tuple(file_id for post in self.posts for file_id in post.file_ids)


@dataclass(frozen=True)
class Carried:
    uploads: tuple[Upload, ...] = ()
    left: tuple[tuple[str, str], ...] = ()  # (file name, why it stayed in Mattermost)

    def report(self) -> str:
        """A line per file that did not come along, or nothing."""
        if not self.left:
            return ""
        head = ngettext("{count} file was not attached:", "{count} files were not attached:", len(self.left))
        return "\n".join([head, *(f"- `{plain(name)}`: {why}" for name, why in self.left)])


def source_post(services: Services, context: CommandContext, reference: str) -> ChatPost:
    """The post, by permalink or id, when the caller may read its channel (asked of Mattermost for the
    caller's verified id; the request's word for it counts for nothing)."""
    found = POST_REF.search(reference.strip())
    post = services.chat.read_post(found.group(1)) if found else None
    if post is None or not services.chat.may_read_channel(context.user.id, post.channel_id):
        raise NotFound(_("That post is not found, or you cannot read its channel."))
    return post


def gather(services: Services, context: CommandContext, reference: str, whole_thread: bool) -> Material:
    post = source_post(services, context, reference)
    posts = [post]
    if whole_thread:
        posts = services.chat.thread(post.id) or [post]  # oldest first, as the port gives them
    public = services.chat.channel_kind(post.channel_id, fresh=True) == "O"
    return Material(post, tuple(posts), public, services.chat.permalink(post.id))


def note_text(services: Services, material: Material) -> str:
    """One post with its author and permalink; a thread as each post with its author and time, in order,
    cut at MAX_NOTE characters with a link to the rest."""
    if len(material.posts) == 1:
        only = material.posts[0]
        byline = _(
            "@{user} in Mattermost, {time}: {link}", user=only.user.username, time=_when(only), link=material.link
        )
        return f"{only.message.strip()}\n\n— {byline}"
    root_link = services.chat.permalink(material.posts[0].id)
    parts = [_("A thread from Mattermost: {link}", link=root_link)]
    used = len(parts[0])
    for shown, post in enumerate(material.posts):
        block = f"**@{post.user.username}**, {_when(post)}:\n{post.message.strip()}"
        if used + len(block) > MAX_NOTE:
            rest = len(material.posts) - shown
            more = ngettext("…and {count} more post in Mattermost", "…and {count} more posts in Mattermost", rest)
            parts.append(link(more, root_link))
            break
        parts.append(block)
        used += len(block) + 2
    return "\n\n".join(parts)


def _when(post: ChatPost) -> str:
    return f"{dt.datetime.fromtimestamp(post.created_at / 1000, dt.UTC):%Y-%m-%d %H:%M} UTC" if post.created_at else ""


def carry_files(services: Services, login: str, material: Material, private: bool) -> Carried:
    """The files as Redmine uploads, one upload each: a file over Redmine's limit is not even downloaded (where
    Redmine showed its limit; else Redmine decides), and one Redmine refuses is named. In a private note none
    comes along (see the module's note)."""
    if not material.file_ids:
        return Carried()
    if private:
        why = _("a private note's files would be visible to everyone who sees the ticket")
        infos = [(file_id, services.chat.file_info(file_id)) for file_id in material.file_ids]
        return Carried((), tuple((info.name if info else file_id, why) for file_id, info in infos))
    limit = services.attachments.limit()
    uploads: list[Upload] = []
    left: list[tuple[str, str]] = []
    for file_id in material.file_ids:
        info = services.chat.file_info(file_id)
        if info is None:
            left.append((file_id, _("Mattermost no longer has it")))
        elif limit is not None and info.size > limit:
            left.append((info.name, _("larger than Redmine's limit of {size}", size=megabytes(limit))))
        else:
            try:
                with services.chat.file_stream(file_id, limit) as stream:  # streamed: never whole in memory
                    uploads.append(services.attachments.upload(login, info.name, info.mime_type, stream))
            except BridgeError as refused:  # FileRefused, or Mattermost or Redmine failing on this one file
                left.append((info.name, refused.user_message))
    return Carried(tuple(uploads), tuple(left))


def private_or_refuse(services: Services, login: str, project_id: int, project_name: str, material: Material) -> bool:
    """Whether the note is written private. A post from a channel that is not public goes in only as a private
    note, and only where Redmine would keep it private for this person (it silently makes it public
    otherwise): else PermissionDenied, and nothing is written."""
    if material.public:
        return False
    if services.desk.may_write_private_notes(login, project_id):
        return True
    raise PermissionDenied(
        _(
            "That post is from a channel that is not public, so it can only go into Redmine as a private note, "
            "and Redmine does not let you write private notes in {project}. Nothing was added.",
            project=plain(project_name),
        )
    )
