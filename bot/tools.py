"""Command-line tools for content editors: check-content, ask, eval-faq."""

from __future__ import annotations

import argparse
import json
import sys
from importlib import resources

from bot import content as content_module
from bot.config import LANGUAGES, Settings
from bot.faq import FaqMatcher, evaluate, read_labelled
from bot.rendering import check_html, render


def _problems_after_rendering(content: content_module.Content) -> list[str]:
    """Every answer, as the bot would send it, must be valid Telegram HTML within limits."""
    problems = []
    for entry in content.entries.values():
        for language, text in entry.text.items():
            html = render("faq_answer.html", text=text, _=lambda s, **_: s)
            for problem in check_html(html):
                problems.append(f"entry {entry.id} [{language}]: rendered answer: {problem}")
    return problems


def check_content(settings: Settings, args: argparse.Namespace) -> int:
    root = content_module.content_root(settings.content_dir)
    loaded, problems = content_module.load(root)
    problems += _problems_after_rendering(loaded)
    for problem in problems:
        print(problem)
    if problems:
        print(f"{len(problems)} problem(s) in {root}", file=sys.stderr)
        return 1
    print(
        f"content ok: {len(loaded.entries)} FAQ entries in {len(loaded.topics)} topics, "
        f"{len(loaded.contacts)} contacts, languages {', '.join(LANGUAGES)}"
    )
    return 0


def ask(settings: Settings, args: argparse.Namespace) -> int:
    loaded = content_module.load_valid(content_module.content_root(settings.content_dir))
    matcher = FaqMatcher(loaded)
    language = args.lang or settings.default_language
    questions = [args.question] if args.question is not None else sys.stdin
    for line in questions:
        question = line.rstrip("\n")
        if not question.strip():
            continue
        match = matcher.match(question, language)
        best = match.best if match.outcome == "answer" else None
        answer = loaded.entries[best.entry_id].text[language].answer if best else None
        suggestions = [
            {
                "id": s.entry_id,
                "score": s.score,
                "question": loaded.entries[s.entry_id].text[language].question,
            }
            for s in match.suggestions
        ]
        if args.json:
            result = {
                "query": question,
                "outcome": match.outcome,
                "id": best.entry_id if best else None,
                "score": match.best.score if match.best else 0.0,
                "answer": answer,
                "suggestions": suggestions,
            }
            print(json.dumps(result, ensure_ascii=False))
            continue
        print(f"? {question}")
        print(f"  outcome: {match.outcome} (matched in {match.language})")
        if best:
            print(f"  id: {best.entry_id}  score: {best.score}")
            print("  " + (answer or "").replace("\n", "\n  "))
        for s in suggestions:
            print(f"  did you mean: {s['id']} ({s['score']}) {s['question']}")
        if match.outcome == "none" and match.best:
            print(f"  closest: {match.best.entry_id} ({match.best.score})")
        print()
    return 0


def eval_faq(settings: Settings, args: argparse.Namespace) -> int:
    loaded = content_module.load_valid(content_module.content_root(settings.content_dir))
    if args.file:
        with open(args.file, encoding="utf-8") as fh:
            lines = fh.readlines()
    else:
        shipped = resources.files("content").joinpath("eval", "faq_eval.tsv")
        lines = shipped.read_text(encoding="utf-8").splitlines()
    tallies = evaluate(FaqMatcher(loaded), read_labelled(lines))
    print("language  queries  top1   direct  wrong  suggest-hit  false-accept")
    for name in (*LANGUAGES, "all"):
        if name not in tallies:
            continue
        f = tallies[name].figures()
        print(
            f"{name:<9} {f['queries']:>7}  {f['top1_accuracy']:.3f}  {f['answered_directly']:.3f}"
            f"   {f['wrong_answers']:.3f}  {f['suggest_hit_rate']:>11.3f}  "
            f"{f['false_accept_rate']:>12.3f}"
        )
    overall = tallies["all"]
    if args.misses:
        print("\nmisses (language, query, expected, got):")
        for miss in overall.misses:
            print("  " + miss)
    figures = overall.figures()
    failed = []
    if figures["top1_accuracy"] < args.min_top1:
        failed.append(f"top-1 accuracy {figures['top1_accuracy']:.3f} < {args.min_top1}")
    if figures["false_accept_rate"] > args.max_false_accept:
        failed.append(
            f"false-accept rate {figures['false_accept_rate']:.3f} > {args.max_false_accept}"
        )
    for failure in failed:
        print(f"FAIL: {failure}", file=sys.stderr)
    return 1 if failed else 0
