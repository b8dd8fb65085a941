"""Storm digests: several pending messages for one channel combined into one post.

During an incident Copera's budget (100 posts a minute) is far below the alert rate, so instead of
queueing for a quarter of an hour the relay sends what is pending together, in order, clearly
separated, and says how many events the post holds.
"""

from __future__ import annotations

from bot.markdown import MAX_MESSAGE

SEPARATOR = "\n\n---\n\n"
MAX_ITEMS = 200


def header(count: int) -> str:
    return f"📦 **{count} events** (digest, oldest first)"


def select(items: list[dict], limit: int = MAX_MESSAGE) -> int:
    """How many of the first pending items fit in one post: same sender name, within `limit`."""
    if not items:
        return 0
    name = items[0].name
    size = len(items[0].text)
    count = 1
    for item in items[1:MAX_ITEMS]:
        if item.name != name:
            break
        extra = len(item.text) + len(SEPARATOR)
        if size + extra + len(header(count + 1)) + len(SEPARATOR) > limit:
            break
        size += extra
        count += 1
    return count


def compose(items: list[dict]) -> str:
    """The message text for the selected items: the item itself, or a digest of all of them."""
    if len(items) == 1:
        return items[0].text
    return header(len(items)) + SEPARATOR + SEPARATOR.join(item.text for item in items)
