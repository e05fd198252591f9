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
- `outline` and `submission` are one outline's two halves (drafting; the review, DOCX and submit)
  and share the "ol" prefix: drafting ends in the review, and the review's ✏️ asks one section.
- `outline.draft_name`, `outline.problem_text`: mydrafts lists and renames drafts the way the
  outline names and checks them.
- `fallback.unknown_command`: coordinator, review and announcements answer non-coordinators as if
  their commands did not exist.
- `coordinator.is_coordinator`: review and announcements (/calls, /announce) ask it, so that who
  is a coordinator is decided in one place.
- `partners.conflict_message`: outline shows it when someone else saved a section meanwhile
  (its buttons carry "ol" and outline handles them).
- `partners.tell_*`: mydrafts (a shared draft deleted), submission (submitted) and privacy (an
  owner's /deletedata) tell the draft's partners, in their language, through one module's wording.
- Who may act on a draft: `storage.drafts.access` gives the role (owner or partner). Outline steps,
  the review, the DOCX and a draft's card take either; submit, reopen, rename, delete, invite and
  remove are the owner's, and their buttons are not shown to partners.
- Buttons that lead into another module's flow carry that module's prefix as a literal ("dr",
  "ol", "pt", "faq", "menu", "cn", and "rv" in the coordinators' notice of a submission; "ol:r" in
  the applicant's notice of a review decision, sent by bot.channels.notices) and are parsed there.
  The reminders' "Continue" is "ol:go".
"""
