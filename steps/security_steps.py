"""Steps about isolation between researchers and refusing bad input."""

from __future__ import annotations

import csv
import io
import re

from behave import given, then, when

from harness.browser import files, secrets
from harness.report.attach import measured
from harness.researchers import checks, misuse, seeded
from harness.researchers.actors import PASSWORD, everyone
from harness.researchers.misuse import spheroid_png
from system.contract import QUEUE_ERRORS, SESSION_CHECK_S, SESSION_ENDED_CLOSE_CODE


@given("two researchers, one of whom has segmented a project")
async def step_owner_and_other(context):
    owner = await seeded.researcher_with_images(context, 2)
    await seeded.segment_and_wait(owner)
    context.state.researchers = [owner, await seeded.researcher_with_images(context, 1)]
    context.state.before = {r.name: await r.snapshot() for r in context.state.researchers}


@when("the other researcher tries to {action}")
async def step_try_foreign(context, action: str):
    owner, other = context.state.researchers
    context.state.response = await misuse.ISOLATION[action](other, owner)


@then("they are told it does not exist")
def step_not_found(context):
    checks.refused_with(context.state.response, "not_found", QUEUE_ERRORS)


@then("the owner's work is unchanged")
async def step_owner_unchanged(context):
    owner = context.state.researchers[0]
    assert await owner.snapshot() == context.state.before[owner.name]


@when("the other researcher sends {bad}")
async def step_send_bad(context, bad: str):
    owner, other = context.state.researchers
    context.state.response = await misuse.BAD_REQUESTS[bad](other, owner)


@then('the request is refused with the error "{code}"')
def step_refused_with(context, code: str):
    checks.refused_with(context.state.response, code, QUEUE_ERRORS)


@then("nothing of theirs has changed")
async def step_nothing_changed(context):
    for r in context.state.researchers:
        assert await r.snapshot() == context.state.before[r.name], f"{r.name}'s work changed"


@when('the researcher names a project "{name}" and uploads an image named "{filename}"')
async def step_odd_names(context, name: str, filename: str):
    r = context.state.researchers[0]
    context.state.odd_name = name
    context.state.odd_project = (await r.api.create_project(name))["id"]
    context.state.odd_upload = await r.api.upload(context.state.odd_project, [(filename, spheroid_png())])


@then("the project is listed with exactly that name")
async def step_listed_verbatim(context):
    listed = {p["id"]: p["name"] for p in await context.state.researchers[0].api.projects()}
    assert listed[context.state.odd_project] == context.state.odd_name, listed


@then('the image is stored as "{stored}"')
async def step_stored_as(context, stored: str):
    r = context.state.researchers[0]
    assert [i["filename"] for i in context.state.odd_upload] == [stored]
    assert [i["filename"] for i in await r.api.images(context.state.odd_project)] == [stored]


@when("someone without a valid token asks for the researcher's project, images and events")
async def step_no_token(context):
    r = context.state.researchers[0]
    context.state.answers = await misuse.without_token(r.api.base_url, r.project_id)


@when("the researcher's own token is sent in the link instead of a header")
async def step_token_in_link(context):
    r = context.state.researchers[0]
    context.state.answers = await misuse.token_in_link(r.api.base_url, r.project_id, r.api.token)


@then('every request is refused with the error "{code}"')
def step_every_refused(context, code: str):
    wrong = [a for a in context.state.answers if a[1:] != (QUEUE_ERRORS[code], code)]
    assert not wrong, f"answered differently: {wrong}"


@when('the researcher uploads an image named "{filename}", segments the project and downloads the measurements')
async def step_formula_name(context, filename: str):
    r = context.state.researchers[0]
    context.state.odd_name = filename
    context.state.odd_upload = (await r.api.upload(r.project_id, [(filename, spheroid_png())]))[0]
    await seeded.segment_and_wait(r)
    context.state.response = await r.api.measurements_csv(r.project_id)


@then("the CSV holds that name as text a spreadsheet will not run, and offers itself under a plain file name")
def step_formula_as_text(context):
    answer, name = context.state.response, context.state.odd_name
    rows = list(csv.DictReader(io.StringIO(answer.body.decode("utf-8"))))
    names = {row["filename"] for row in rows}
    assert "'" + name in names and name not in names, f"the CSV's file names: {sorted(names)}"
    disposition = answer.headers.get("Content-Disposition", "")
    assert re.fullmatch(r'attachment; filename="[A-Za-z0-9._-]+"', disposition), disposition


@when("someone tries {n:d} wrong passwords for the researcher's account, then the right one")
async def step_guess_passwords(context, n: int):
    r = context.state.researchers[0]
    context.state.guesses = await misuse.guess(r.api.base_url, r.name, [*misuse.wrong_passwords(n), PASSWORD])


@then('the first {allowed:d} were told "invalid_credentials", the rest and the right one "too_many_attempts", with a time to retry')
def step_guesses_slowed(context, allowed: int):
    got = [(g.status, g.code, g.retry_after) for g in context.state.guesses]
    assert allowed == context.system.config.queue.login_failures_per_account, "the feature and the service's setting disagree"
    assert all(g[:2] == (QUEUE_ERRORS["invalid_credentials"], "invalid_credentials") for g in got[:allowed]), got
    assert all(g[:2] == (QUEUE_ERRORS["too_many_attempts"], "too_many_attempts") and g[2] for g in got[allowed:]), got


@then("wrong passwords cost as long for an account that does not exist as for one that does, within a factor of two")
async def step_guess_timing(context):
    known, unknown = await misuse.guess_times(context.system.api_url, context.http, tries=context.system.config.queue.login_failures_per_account - 1)
    measured("a wrong password's cost", {"existing_account_s": known, "no_such_account_s": unknown})
    assert 0.5 <= unknown / known <= 2, f"a wrong password took {known:.3f} s for an account and {unknown:.3f} s for none"


@given("the researcher mistypes their password once")
async def step_mistyped(context):
    r = context.state.researchers[0]
    await misuse.guess(r.api.base_url, r.name, misuse.wrong_passwords(1))


@then("neither their token nor their password is written in any service log, in the page's trace or in any attachment of the run")
async def step_no_secret_written(context):
    page, r = context.state.page, context.state.researchers[0]
    await files.page_left(context, page)
    trace = await page.finish(files.scenario_folder(context) / f"trace-{page.label}.zip")
    places = sorted({p.log_path for p in context.system.processes()} | set(context.log_dir.rglob("*")) | set(context.results_dir.glob("*")))
    found, searched = secrets.secrets_written([*places, trace], page.secrets() | {r.api.token})
    measured("secrets written down", {"files_searched": searched, "files_with_a_secret": len(found), "sockets_with_a_token": len(page.socket_urls)})
    assert page.socket_urls and not found, f"a token or password was written in: {found[:5]}"


@when("the researcher signs out")
async def step_sign_out(context):
    r = context.state.researchers[0]
    context.state.response = await r.api.logout()
    context.state.answers = await misuse.with_token(r.api.base_url, r.project_id, r.api.token)


@then("their event stream was closed because the session ended, within the time the service promises")
async def step_stream_ended(context):
    events = context.state.researchers[0].events
    await events.wait_until_ended(2 * SESSION_CHECK_S)
    assert context.state.response.status == 204 and events.ended == SESSION_ENDED_CLOSE_CODE, (context.state.response.status, events.ended)


@given("an API process whose sessions last {seconds:g} seconds unused")
def step_short_sessions(context, seconds: float):
    context.state.server_process = context.system.start_api(SESSION_SECONDS=f"{seconds:g}")


@when("one researcher signs in there and leaves the session unused, and another keeps using theirs for twice that long")
async def step_sessions_used_and_not(context):
    context.state.answers = await misuse.sessions_used_and_not(context.state.server_process.address, context.http)


@then('the unused session is refused with the error "unauthorized", and the one in use is still good')
def step_sessions_outcome(context):
    unused, used = context.state.answers
    assert (unused.status, unused.error_code) == (QUEUE_ERRORS["unauthorized"], "unauthorized"), checks.described(unused)
    assert used.status == 200, checks.described(used)


@when("the first sends {n:d} changes at once, and the second makes one meanwhile")
async def step_many_changes(context, n: int):
    first, second = context.state.researchers[:2]
    (context.state.answers, context.state.burst_s), context.state.response = await everyone(
        [misuse.many_changes(first, n), misuse.one_change(second)])


@then('the first\'s changes past what the service allows at once were told "too_many_requests", with a time to retry')
def step_changes_limited(context):
    q, answers = context.system.config.queue, context.state.answers
    allowed = q.write_burst + q.writes_per_second * context.state.burst_s
    limited = [a for a in answers if a.status == QUEUE_ERRORS["too_many_requests"]]
    measured("one researcher's burst of changes", {"sent": len(answers), "limited": len(limited), "allowed_at_most": round(allowed)})
    assert all(a.error_code == "invalid_request" or (a in limited and a.headers.get("Retry-After")) for a in answers), \
        {checks.described(a) for a in answers if a.status not in (400, 429)}
    assert limited and len(answers) - len(limited) <= allowed, f"{len(answers) - len(limited)} changes taken in, at most {allowed:.0f} allowed"


@then("the second researcher's change was answered as usual")
def step_second_answered(context):
    assert context.state.response.status == 201, checks.described(context.state.response)


@when("the researcher opens {n:d} more live event connections at once")
async def step_many_sockets(context, n: int):
    r = context.state.researchers[0]
    context.state.before = {"same_process": int(r.events.base_url == r.api.base_url)}
    context.state.answers = await misuse.many_sockets(r, n)


@then('those past the service\'s limit were refused with the error "too_many_requests"')
def step_sockets_limited(context):
    opened, refused = context.state.answers
    room = context.system.config.queue.max_sockets_per_user - context.state.before["same_process"]
    assert opened == room and refused and set(refused) == {QUEUE_ERRORS["too_many_requests"]}, (opened, room, refused)
