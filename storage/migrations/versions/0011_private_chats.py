"""private chats: undo group chats stored as where a Telegram user is reached

Revision ID: 0011
Revises: 0009
Create Date: 2026-12-06 02:00:00

Before this revision a group mention overwrote a user's chat_id with the group's, so their
case notices, relays and bulletins went to the group. On Telegram a private chat's id is the
user's id: any other stored chat is a group. Those users get no private chat (their messages
wait until they write privately), and the undelivered messages addressed to a group wait too.
"""

import sqlalchemy as sa
from alembic import op

revision = "0011"
down_revision = "0009"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.execute(
        sa.text(
            "UPDATE outbox SET status = 'held', chat_id = '' "
            "WHERE channel = 'telegram' AND status = 'pending' AND user_id IS NOT NULL "
            "AND chat_id <> (SELECT users.external_id FROM users WHERE users.id = outbox.user_id)"
        )
    )
    op.execute(
        sa.text(
            "UPDATE users SET chat_id = '' "
            "WHERE channel = 'telegram' AND chat_id <> '' AND chat_id <> external_id"
        )
    )


def downgrade() -> None:
    # Data only, and the group chats it removed must not come back.
    pass
