"""report.html's per-student parts: the table of every submission (sortable by any column,
filterable by any text, by a small inline script: the page is the instructor's own file and
loads nothing), who made each mistake, and the pairs similarity flagged, side by side.

Everything from a submission or the export's metadata is HTML-escaped; the links go to the
batch's own files next to the page (``results/<id>.json``, ``logs/<id>.txt``).
"""

import base64
import hashlib
import html
from urllib.parse import quote

from grader.batch.records import Record, format_number
from grader.batch.stats import ClassStats

# Sort: click a header (again to reverse); numbers by data-sort. Filter: rows containing
# every word typed. No network, no eval, nothing but this table.
SCRIPT = """
(function(){
var t=document.getElementById('students'),f=document.getElementById('filter');
if(!t||!f)return;var b=t.tBodies[0];
f.addEventListener('input',function(){var w=f.value.toLowerCase().split(/\\s+/).filter(Boolean);
var shown=0;Array.prototype.forEach.call(b.rows,function(r){var s=r.textContent.toLowerCase();
var ok=w.every(function(x){return s.indexOf(x)>=0});r.hidden=!ok;if(ok)shown++;});
document.getElementById('shown').textContent=shown;});
Array.prototype.forEach.call(t.tHead.rows[0].cells,function(th,i){th.addEventListener('click',
function(){var up=th.getAttribute('aria-sort')!=='ascending';
Array.prototype.forEach.call(t.tHead.rows[0].cells,function(c){c.removeAttribute('aria-sort')});
th.setAttribute('aria-sort',up?'ascending':'descending');
var rows=Array.prototype.slice.call(b.rows);rows.sort(function(x,y){
var p=x.cells[i].getAttribute('data-sort'),q=y.cells[i].getAttribute('data-sort');
var a=p===null?x.cells[i].textContent:p,c=q===null?y.cells[i].textContent:q;
var na=parseFloat(a),nc=parseFloat(c),r=(!isNaN(na)&&!isNaN(nc))?na-nc:a.localeCompare(c);
return up?r:-r;});rows.forEach(function(r){b.appendChild(r)});});});
})();
"""

# The page's Content-Security-Policy allows this script and no other (not even one injected).
SCRIPT_HASH = "sha256-" + base64.b64encode(hashlib.sha256(SCRIPT.encode()).digest()).decode()


def _e(value) -> str:
    return html.escape(str(value), quote=True)


def names(record: Record) -> str:
    return "; ".join(n for n in record.names if n) or "—"


def _who(record: Record) -> str:
    people = "; ".join(n for n in record.names if n)
    return f"{record.id} ({people})" if people else record.id


def students_table(stats: ClassStats, checks: list[str]) -> str:
    out = [
        '<p><label>Filter: <input id="filter" type="search" placeholder="name, id, mistake…">'
        f'</label> <span class="muted"><span id="shown">{len(stats.records)}</span> of '
        f"{len(stats.records)} shown; click a column to sort</span></p>",
        '<div class="wide"><table id="students"><thead><tr><th>submission</th><th>submitters</th>'
        '<th class="num">total</th>'
        + "".join(f'<th class="num"><code>{_e(c)}</code></th>' for c in checks)
        + "<th>mistakes diagnosed</th><th>files</th></tr></thead><tbody>",
    ]
    for r in sorted(stats.records, key=lambda r: r.id):
        total = format_number(r.total) if r.total is not None else "grader failed"
        sort_total = format_number(r.total) if r.total is not None else "-1"
        cells = [
            f"<td>{_e(r.id)}</td><td>{_e(names(r))}</td>",
            f'<td class="num" data-sort="{sort_total}">{_e(total)}</td>',
        ]
        for c in checks:
            check = r.checks.get(c)
            score = format_number(check.score) if check is not None else ""
            cls = "num" if check is None or check.passed else "num fail"
            cells.append(f'<td class="{cls}">{_e(score)}</td>')
        mistakes = ", ".join(r.mistakes)
        kind = "" if r.total is None or r.category == "graded" else f" ({r.category})"
        link = quote(r.id)
        cells.append(f"<td>{_e(mistakes)}{_e(kind)}</td>")
        cells.append(
            f'<td><a href="results/{link}.json">results</a> <a href="logs/{link}.txt">log</a></td>'
        )
        category = r.category if r.total is not None else "grader failed"
        out.append(
            f'<tr class="student" data-id="{_e(r.id)}" data-total="{_e(format_number(r.total))}" '
            f'data-category="{_e(category)}" data-mistakes="{_e(" ".join(r.mistakes))}">'
            + "".join(cells)
            + "</tr>"
        )
    out.append("</tbody></table></div>")
    return "\n".join(out)


def mistakes_table(stats: ClassStats, descriptions: dict[str, str]) -> str:
    if not stats.mistakes:
        return '<p class="muted" id="mistakes">No common mistake was diagnosed.</p>'
    out = [
        '<table id="mistakes"><thead><tr><th>mistake</th><th class="num">students</th>'
        "<th>what it means</th><th>who</th></tr></thead><tbody>"
    ]
    for key, count in stats.mistakes:
        who = "; ".join(_who(r) for r in stats.who_made(key))
        out.append(
            f'<tr class="mistake" data-mistake="{_e(key)}" data-students="{count}">'
            f'<td><code>{_e(key)}</code></td><td class="num">{count}</td>'
            f'<td>{_e(descriptions.get(key, key))}</td><td class="who">{_e(who)}</td></tr>'
        )
    out.append("</tbody></table>")
    return "\n".join(out)


def _side(side, record: Record | None) -> str:
    title = _e(side.id) + (f" ({_e(names(record))})" if record is not None else "")
    rows, previous = [], None
    for number, text, matched in side.lines:
        if previous is not None and number != previous + 1:
            rows.append('<span class="gap">⋯</span>')
        cls = "hit" if matched else "ctx"
        rows.append(f'<span class="{cls}"><span class="ln">{number:4d}</span> {_e(text)}</span>')
        previous = number
    return f'<div class="side"><div class="muted">{title}</div><pre>{"".join(rows)}</pre></div>'


def similarity_section(similar, stats: ClassStats, threshold: float) -> str:
    if similar is None:
        return ""
    by_id = {r.id: r for r in stats.records}
    out = [
        f'<p class="muted">{similar.compared} uploads compared (copydetect, the stub and the '
        f"hint as boilerplate); pairs scoring {format_number(threshold)} or more are listed, "
        "highest first, with the lines they share highlighted. A flag is a reason to look, "
        "not a finding. All flagged pairs are in <code>similarity.csv</code>.</p>"
    ]
    if similar.skipped:  # e.g. no gmm1d.py, too large, or the comparison ran out of time
        reasons = "; ".join(f"{_e(i)}: {_e(why)}" for i, why in sorted(similar.skipped.items()))
        out.append(f'<p class="muted" id="not-compared">Not compared: {reasons}.</p>')
    if not similar.pairs:
        out.append('<p id="similarity" class="muted">No pair was flagged.</p>')
        return "\n".join(out)
    out.append('<div id="similarity">')
    for number, pair in enumerate(similar.pairs):
        opened = " open" if number == 0 else ""  # the strongest pair shown, the rest folded
        out.append(
            f'<details class="pair"{opened} data-a="{_e(pair.a.id)}" data-b="{_e(pair.b.id)}" '
            f'data-score="{pair.score:.4f}"><summary>{_e(pair.a.id)} and {_e(pair.b.id)}: '
            f'{pair.score * 100:.0f}% shared</summary><div class="sides">'
            f"{_side(pair.a, by_id.get(pair.a.id))}{_side(pair.b, by_id.get(pair.b.id))}"
            "</div></details>"
        )
    out.append("</div>")
    return "\n".join(out)
