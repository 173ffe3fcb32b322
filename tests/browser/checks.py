"""What the browser tests measure on a rendered page: contrast, names, live regions, layout.

Each function runs in the page (``page.evaluate``) and returns plain data for the test to
assert on, so a failure message lists exactly what fell short.
"""

from __future__ import annotations

from typing import Any

# WCAG 2.1: the relative luminance and contrast ratio of sRGB colours (1.4.3 text, 1.4.11 controls).
_COLOUR_JS = """
const parse = (c) => {
  const m = /rgba?\\(([^)]+)\\)/.exec(c || "");
  if (!m) return null;
  const p = m[1].split(/[\\s,\\/]+/).filter(Boolean).map(Number);
  return {r: p[0], g: p[1], b: p[2], a: p.length > 3 ? p[3] : 1};
};
const over = (top, bottom) => ({
  r: top.r * top.a + bottom.r * (1 - top.a), g: top.g * top.a + bottom.g * (1 - top.a),
  b: top.b * top.a + bottom.b * (1 - top.a), a: 1});
const backdrop = (el) => {            // the opaque colour behind el: its own and its ancestors' backgrounds
  const layers = [];
  for (let n = el; n && n.nodeType === 1; n = n.parentElement) {
    const c = parse(getComputedStyle(n).backgroundColor);
    if (c && c.a > 0) { layers.push(c); if (c.a >= 1) break; }
  }
  let colour = {r: 255, g: 255, b: 255, a: 1};
  for (let i = layers.length - 1; i >= 0; i--) colour = over(layers[i], colour);
  return colour;
};
const luminance = (c) => {
  const f = (v) => { v /= 255; return v <= 0.04045 ? v / 12.92 : Math.pow((v + 0.055) / 1.055, 2.4); };
  return 0.2126 * f(c.r) + 0.7152 * f(c.g) + 0.0722 * f(c.b);
};
const ratio = (a, b) => {
  const [hi, lo] = [luminance(a), luminance(b)].sort((x, y) => y - x);
  return (hi + 0.05) / (lo + 0.05);
};
const hex = (c) => "#" + [c.r, c.g, c.b].map((v) => Math.round(v).toString(16).padStart(2, "0")).join("");
const shown = (el) => {
  if (!el.getClientRects().length) return false;
  const style = getComputedStyle(el);
  if (style.visibility !== "visible") return false;
  const box = el.getBoundingClientRect();
  if (box.width <= 1 || box.height <= 1) return false;          // visually hidden (screen readers only)
  const modal = document.querySelector("dialog[open]");
  return !modal || modal.contains(el);                           // behind a modal dialog: inert
};
"""


def contrast(page: Any) -> list[dict[str, Any]]:
    """Every visible text (and placeholder) with its colour, its backdrop, the ratio and the
    ratio WCAG 2.1 AA asks for (4.5:1, or 3:1 for large text); disabled controls are exempt."""
    return list(
        page.evaluate(
            "() => {"
            + _COLOUR_JS
            + """
  const found = [];
  const walker = document.createTreeWalker(document.body, NodeFilter.SHOW_TEXT);
  for (let node = walker.nextNode(); node; node = walker.nextNode()) {
    const el = node.parentElement;
    if (!node.textContent.trim() || !el || !shown(el) || el.closest(":disabled, script, style")) continue;
    const style = getComputedStyle(el);
    const fg = parse(style.color), bg = backdrop(el);
    const size = parseFloat(style.fontSize), bold = Number(style.fontWeight) >= 700;
    const large = size >= 24 || (size >= 18.66 && bold);
    found.push({text: node.textContent.trim().slice(0, 40), fg: hex(over(fg, bg)), bg: hex(bg),
                ratio: ratio(over(fg, bg), bg), required: large ? 3 : 4.5});
  }
  document.querySelectorAll("textarea[placeholder], input[placeholder]").forEach((el) => {
    if (!shown(el) || el.value) return;
    const fg = parse(getComputedStyle(el, "::placeholder").color), bg = backdrop(el);
    found.push({text: "placeholder: " + el.placeholder, fg: hex(over(fg, bg)), bg: hex(bg),
                ratio: ratio(over(fg, bg), bg), required: 4.5});
  });
  return found;
}"""
        )
    )


def control_contrast(page: Any) -> list[dict[str, Any]]:
    """Each visible control's boundary against what surrounds it (WCAG 1.4.11: 3:1): its
    border, or its filled background where that is what shows it."""
    return list(
        page.evaluate(
            "() => {"
            + _COLOUR_JS
            + """
  const found = [];
  document.querySelectorAll("button, .button, textarea, input:not([type=hidden])").forEach((el) => {
    if (!shown(el) || el.matches(":disabled")) return;
    // A file input shows itself through its button.
    const style = getComputedStyle(el, el.type === "file" ? "::file-selector-button" : null);
    const around = backdrop(el.type === "file" ? el : el.parentElement);
    const fill = parse(style.backgroundColor), border = parse(style.borderTopColor);
    const width = parseFloat(style.borderTopWidth);
    const candidates = [];
    if (width > 0 && border && border.a > 0) candidates.push(ratio(over(border, around), around));
    if (fill && fill.a > 0) candidates.push(ratio(over(fill, around), around));
    found.push({control: (el.id || el.textContent.trim() || el.name || el.type).slice(0, 40),
                ratio: Math.max(0, ...candidates), required: 3});
  });
  return found;
}"""
        )
    )


def focus_ring(page: Any) -> dict[str, Any]:
    """The focused element's outline against what surrounds it (3:1 for a visible focus)."""
    return dict(
        page.evaluate(
            "() => {"
            + _COLOUR_JS
            + """
  const el = document.activeElement;
  const style = getComputedStyle(el);
  const outline = parse(style.outlineColor), around = backdrop(el.parentElement);
  return {element: el.id || el.tagName, width: parseFloat(style.outlineWidth), style: style.outlineStyle,
          ratio: outline ? ratio(over(outline, around), around) : 0};
}"""
        )
    )


def unnamed_controls(page: Any) -> list[str]:
    """Visible controls without an accessible name (a label, aria-label(ledby), or text)."""
    return list(
        page.evaluate(
            """() => {
  const named = (el) => {
    if ((el.getAttribute("aria-label") || "").trim()) return true;
    const ids = (el.getAttribute("aria-labelledby") || "").split(/\\s+/).filter(Boolean);
    if (ids.some((id) => (document.getElementById(id)?.textContent || "").trim())) return true;
    if (el.labels && Array.from(el.labels).some((l) => l.textContent.trim())) return true;
    if (["BUTTON", "A", "SUMMARY"].includes(el.tagName) && el.textContent.trim()) return true;
    return !!(el.title || "").trim();
  };
  const missing = [];
  document.querySelectorAll("a[href], button, input:not([type=hidden]), textarea, select, dialog").forEach((el) => {
    if (el.getClientRects().length && !named(el)) missing.push(el.outerHTML.slice(0, 120));
  });
  return missing;
}"""
        )
    )


def live_regions(page: Any) -> dict[str, list[str]]:
    """The page's live regions by politeness: ``polite`` (aria-live=polite, role status/log)
    and ``assertive`` (aria-live=assertive, role alert), as element ids."""
    return dict(
        page.evaluate(
            """() => {
  const out = {polite: [], assertive: []};
  document.querySelectorAll("[aria-live], [role=status], [role=log], [role=alert]").forEach((el) => {
    const live = el.getAttribute("aria-live");
    const role = el.getAttribute("role");
    if (live === "off") return;
    const kind = live === "assertive" || (!live && role === "alert") ? "assertive" : "polite";
    out[kind].push(el.id || el.className);
  });
  return out;
}"""
        )
    )


def layout(page: Any) -> dict[str, Any]:
    """How the chat page sits in the window: overflow, the composer, the pane's scrolling."""
    return dict(
        page.evaluate(
            """() => {
  const box = (sel) => { const el = document.querySelector(sel); if (!el) return null;
                          const r = el.getBoundingClientRect(); return {top: r.top, bottom: r.bottom, left: r.left, right: r.right}; };
  const pane = document.getElementById("pane");
  return {
    width: innerWidth, height: innerHeight,
    overflowX: document.documentElement.scrollWidth - innerWidth,
    overflowY: document.documentElement.scrollHeight - innerHeight,
    textarea: box("#message-form textarea"), send: box("#message-form button[type=submit]"),
    pane: box("#pane"), paneScrolls: pane.scrollHeight > pane.clientHeight,
    atEnd: pane.scrollHeight - pane.scrollTop - pane.clientHeight < 2,
    widest: Math.max(...Array.from(document.querySelectorAll("#pane *"), (el) => el.getBoundingClientRect().right)),
  };
}"""
        )
    )
