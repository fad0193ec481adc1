"""Steps about isolation between researchers and refusing bad input."""

from __future__ import annotations

from behave import given, then, when

from harness import checks, probes, scenario
from harness.probes import spheroid_png
from system.contract import QUEUE_ERRORS


@given("two researchers, one of whom has segmented a project")
async def step_owner_and_other(context):
    owner = await scenario.researcher_with_images(context, 2)
    await scenario.segment_and_wait(owner)
    context.researchers = [owner, await scenario.researcher_with_images(context, 1)]
    context.before = {r.name: await r.snapshot() for r in context.researchers}


@when("the other researcher tries to {action}")
async def step_try_foreign(context, action: str):
    owner, other = context.researchers
    context.response = await probes.ISOLATION[action](other, owner)


@then("they are told it does not exist")
def step_not_found(context):
    checks.refused_with(context.response, "not_found", QUEUE_ERRORS)


@then("the owner's work is unchanged")
async def step_owner_unchanged(context):
    owner = context.researchers[0]
    assert await owner.snapshot() == context.before[owner.name]


@when("the other researcher sends {bad}")
async def step_send_bad(context, bad: str):
    owner, other = context.researchers
    context.response = await probes.BAD_REQUESTS[bad](other, owner)


@then('the request is refused with the error "{code}"')
def step_refused_with(context, code: str):
    checks.refused_with(context.response, code, QUEUE_ERRORS)


@then("nothing of theirs has changed")
async def step_nothing_changed(context):
    for r in context.researchers:
        assert await r.snapshot() == context.before[r.name], f"{r.name}'s work changed"


@when('the researcher names a project "{name}" and uploads an image named "{filename}"')
async def step_odd_names(context, name: str, filename: str):
    r = context.researchers[0]
    context.odd_name = name
    context.odd_project = (await r.api.create_project(name))["id"]
    context.odd_upload = await r.api.upload(context.odd_project, [(filename, spheroid_png())])


@then("the project is listed with exactly that name")
async def step_listed_verbatim(context):
    listed = {p["id"]: p["name"] for p in await context.researchers[0].api.projects()}
    assert listed[context.odd_project] == context.odd_name, listed


@then('the image is stored as "{stored}"')
async def step_stored_as(context, stored: str):
    r = context.researchers[0]
    assert [i["filename"] for i in context.odd_upload] == [stored]
    assert [i["filename"] for i in await r.api.images(context.odd_project)] == [stored]


@when("someone without a valid token asks for the researcher's project, images and events")
async def step_no_token(context):
    r = context.researchers[0]
    context.answers = await probes.without_token(r.api.base_url, r.project_id)


@then('every request is refused with the error "{code}"')
def step_every_refused(context, code: str):
    wrong = [a for a in context.answers if a[1:] != (QUEUE_ERRORS[code], code)]
    assert not wrong, f"answered differently: {wrong}"
