"""A table's stream, tailed from the page: console.js polls GetRecords through `api` and shows each record's
old and new image side by side, the attributes a MODIFY added, removed or changed marked (and listed by path,
into maps); a table without a stream gets a form that enables one."""

from __future__ import annotations

from ..._errors import DynamoDBError
from .markup import csrf_field, error_box, html, join, segment
from .tables import STREAM_VIEWS
from .web import Request, Response, breadcrumbs, html_response, redirect, status_of


def stream_page(request: Request, name: str) -> Response:
    link = "/console/tables/" + segment(name)
    nav = breadcrumbs((link, name), (link + "/stream", "stream"))
    try:
        table = request.call("DescribeTable", {"TableName": name})["Table"]
    except DynamoDBError as error:
        return html_response(request, name, error_box(error.code, error.message), status_of(error), nav=nav)
    spec = table.get("StreamSpecification", {})
    arn = table.get("LatestStreamArn")
    if not spec.get("StreamEnabled") or not arn:
        views = join(html('<option>{}</option>', v) for v in STREAM_VIEWS if v)
        body = html('<h1>Stream of {}</h1><p>This table has no stream.</p>'
                    '<form method="post" action="{}/stream" class="stack">{}<label>View type <select name="view">{}'
                    '</select></label><button type="submit">Enable the stream</button></form>',
                    name, link, csrf_field(request.token), views)
        return html_response(request, f"{name} stream", body, nav=nav)
    body = html(
        '<h1>Stream of {name}</h1><p>{view} · <code>{arn}</code></p>'
        '<div id="tail" data-stream-arn="{arn}"><p class="row"><label>Start <select id="tail-from">'
        '<option value="LATEST">new records</option><option value="TRIM_HORIZON">the oldest kept</option></select>'
        '</label><button type="button" id="tail-toggle">Pause</button> <span id="tail-status" class="muted">'
        'starting…</span></p><table class="grid stream"><thead><tr><th>#</th><th>event</th><th>time</th>'
        '<th>keys</th><th>changes</th><th>old image</th><th>new image</th></tr></thead><tbody id="tail-records"></tbody></table>'
        '</div>', name=name, view=spec.get("StreamViewType", ""), arn=arn)
    return html_response(request, f"{name} stream", body, nav=nav)


def enable(request: Request, name: str) -> Response:
    view = request.form.get("view", "NEW_AND_OLD_IMAGES")
    try:
        request.call("UpdateTable", {"TableName": name,
                                     "StreamSpecification": {"StreamEnabled": True, "StreamViewType": view}})
    except DynamoDBError as error:
        return html_response(request, name, error_box(error.code, error.message), 400)
    return redirect("/console/tables/" + segment(name) + "/stream")


