"""Handlers translate between Telegram updates and the domain: one module per thing a user does.

Each module declares its own handlers (`handlers()`, and `deep_links()` for `/start <payload>`)
and the callback-data prefix of its buttons (`PREFIX`); bot/app.py composes them in one ordered
list, since in python-telegram-bot the first handler that matches takes the update. What all of
them share is in `common` (loading the user, button data, sending) and `flows` (which flow typed
text belongs to).

What handler modules still import from each other, and why:
- `start.send_menu`: checklist, faq, outline and mydrafts end by showing the main menu, and faq's
  menu buttons run start's commands; start shows privacy's first-contact notice and lets
  `outline.leave` say what was kept when a flow is left (a lazy import: outline imports start).
- `faq.send_entry`: a checklist item links to its FAQ answer.
- `outline.draft_name`, `outline.problem_text`: mydrafts lists and renames drafts the way the
  outline names and checks them.
- `fallback.unknown_command`: coordinator answers non-coordinators as if its commands did not exist.
- `coordinator.is_coordinator`: announcements' /calls and /announce are for coordinators too.
- Buttons that lead into another module's flow carry that module's prefix as a literal ("dr",
  "ol", "faq", "menu", "cn") and are parsed there.
"""
