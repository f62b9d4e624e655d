"""Draws what the chat stand-ins received (daybook demo --deliver) as a reader sees it: a Slack
message from its Block Kit JSON and a Teams card from its Adaptive Card JSON, as HTML pages for
headless Chromium to photograph. A sketch of each client's look, not the client itself: the
JSON beside the picture is what Slack's Block Kit Builder and the Adaptive Cards Designer take."""

import html
import json
import re
import sys
from pathlib import Path


def mrkdwn(text):
    text = html.escape(html.unescape(text))
    text = re.sub(r"\*([^*\n]+)\*", r"<b>\1</b>", text)
    text = re.sub(r"(?<!\w)_([^_\n]+)_(?!\w)", r"<i>\1</i>", text)
    text = re.sub(r"&lt;@(U\w+)&gt;", r'<span class="mention">@\1</span>', text)
    text = text.replace(":warning:", "⚠️")
    return text.replace("\n", "<br>")


def slack(message, chart):
    parts = []
    for block in message["blocks"]:
        kind = block["type"]
        if kind == "header":
            parts.append(f'<div class="header">{html.escape(block["text"]["text"])}</div>')
        elif kind == "context":
            parts.append('<div class="context">' + " ".join(mrkdwn(e["text"]) for e in block["elements"]) + "</div>")
        elif kind == "section" and "fields" in block:
            parts.append('<div class="fields">' + "".join(f"<div>{mrkdwn(f['text'])}</div>" for f in block["fields"]) + "</div>")
        elif kind == "section":
            parts.append(f'<div class="section">{mrkdwn(block["text"]["text"])}</div>')
        elif kind == "actions":
            parts.append('<div class="actions">' + "".join(
                f'<span class="button {e.get("style", "")}">{html.escape(e["text"]["text"])}</span>' for e in block["elements"]) + "</div>")
    if chart:
        parts.append(f'<img class="chart" src="{chart}">')
    body = "\n".join(parts)
    return f"""<html><head><meta charset="utf-8"><style>
body {{ margin: 0; font: 15px/1.46 Lato, 'Helvetica Neue', Arial, 'NanumGothic', sans-serif; color: #1d1c1d; background: #fff; }}
.message {{ display: flex; gap: 8px; padding: 16px 20px; }}
.avatar {{ width: 36px; height: 36px; border-radius: 6px; background: #2f6f4f; color: #fff; font-weight: 700; text-align: center; line-height: 36px; flex: none; }}
.name {{ font-weight: 900; }} .app {{ font-size: 10px; background: #e8e8e8; color: #555; padding: 1px 3px; border-radius: 2px; margin-left: 4px; }}
.header {{ font-size: 18px; font-weight: 900; margin: 4px 0; }}
.context {{ font-size: 12px; color: #616061; margin: 4px 0; }}
.section {{ margin: 6px 0; }} .fields {{ display: grid; grid-template-columns: 1fr 1fr; gap: 8px 16px; margin: 6px 0; }}
.actions {{ margin: 8px 0; display: flex; gap: 8px; flex-wrap: wrap; }}
.button {{ border: 1px solid #ccc; border-radius: 4px; padding: 3px 12px; font-weight: 700; font-size: 13px; }}
.button.primary {{ background: #007a5a; color: #fff; border-color: #007a5a; }} .button.danger {{ color: #e01e5a; }}
.chart {{ max-width: 360px; border: 1px solid #ddd; border-radius: 8px; margin-top: 6px; display: block; }}
.mention {{ background: #e8f5fa; color: #1264a3; }}
</style></head><body><div class="message"><div class="avatar">d</div><div>
<div><span class="name">daybook</span><span class="app">APP</span> <span class="context">8:02 AM</span></div>
{body}</div></div></body></html>"""


def teams(card):
    parts = []
    for element in card["body"]:
        if element["type"] == "TextBlock":
            style = []
            if element.get("size") == "Large":
                style.append("font-size: 20px")
            if element.get("weight") == "Bolder":
                style.append("font-weight: 700")
            if element.get("isSubtle"):
                style.append("color: #616161")
            if element.get("color") == "Warning":
                style.append("color: #835b00")
            text = html.escape(re.sub(r"\\(.)", r"\1", element["text"]).replace("**", ""))
            parts.append(f'<div style="{"; ".join(style)}; margin: 4px 0">{text}</div>')
        elif element["type"] == "FactSet":
            rows = "".join(
                f"<tr><td class='fact'>{html.escape(f['title'])}</td><td>{html.escape(f['value'])}</td></tr>" for f in element["facts"])
            parts.append(f"<table>{rows}</table>")
    actions = "".join(f'<span class="button">{html.escape(a["title"])}</span>' for a in card.get("actions", []))
    body = "\n".join(parts)
    return f"""<html><head><meta charset="utf-8"><style>
body {{ margin: 0; font: 14px/1.43 'Segoe UI', 'Helvetica Neue', Arial, 'NanumGothic', sans-serif; color: #242424; background: #f5f5f5; padding: 16px; }}
.card {{ background: #fff; border-radius: 6px; box-shadow: 0 1px 3px rgba(0,0,0,.15); padding: 16px; max-width: 560px; }}
table {{ border-collapse: collapse; margin: 6px 0; }} td {{ padding: 2px 12px 2px 0; }} .fact {{ font-weight: 600; }}
.button {{ display: inline-block; border: 1px solid #d1d1d1; border-radius: 4px; padding: 5px 12px; margin: 10px 8px 0 0; font-weight: 600; }}
</style></head><body><div class="card">{body}<div>{actions}</div></div></body></html>"""


def main():
    deliveries, out = Path(sys.argv[1]), Path(sys.argv[2])
    message = json.loads((deliveries / "slack-message.json").read_text())
    chart = deliveries / "slack-chart.png"
    (out / "slack-message.html").write_text(slack(message, chart.resolve().as_uri() if chart.exists() else None))
    card = json.loads((deliveries / "teams-card.json").read_text())
    (out / "teams-card.html").write_text(teams(card))


main()
