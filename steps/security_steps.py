"""Steps about isolation between researchers and refusing bad input."""

from __future__ import annotations

import aiohttp
import websockets
from behave import given, then, when

from harness.actors import Researcher
from harness.probes import BAD_REQUESTS, ISOLATION, spheroid_png, upload_form
from steps.jobs_steps import BATCH_TIMEOUT_S
from steps.researcher_steps import _researcher_with_images


async def snapshot(r: Researcher) -> dict:
    """Everything a researcher can see of their own work."""
    projects = await r.api.expect(200, "GET", "/api/projects")
    images = {p["id"]: await r.api.images(p["id"]) for p in projects}
    queue = await r.api.expect(200, "GET", "/api/queue")
    batches = [await r.api.batch(b["batch_id"]) for b in r.batches]
    return {"projects": projects, "images": images, "mine": queue["mine"], "batches": batches}


@given("two researchers, one of whom has segmented a project")
async def step_owner_and_other(context):
    owner = await _researcher_with_images(context, 2)
    await owner.segment()
    await owner.wait_for_batches(BATCH_TIMEOUT_S)
    other = await _researcher_with_images(context, 1)
    context.researchers = [owner, other]
    context.before = {r.name: await snapshot(r) for r in context.researchers}


@when("the other researcher tries to {action}")
async def step_try_foreign(context, action: str):
    owner, other = context.researchers
    method, template, body = ISOLATION[action]
    batch = owner.batches[0]
    path = template.format(project=owner.project_id, own_project=other.project_id, image=owner.images[0].id,
                           batch=batch["batch_id"], job=batch["job_ids"][0])
    kwargs = {}
    if body == "upload":
        kwargs["data"] = upload_form([("intruder.png", spheroid_png())])
    elif body == "segment":
        kwargs["json"] = {}
    elif body == "segment_foreign_image":
        kwargs["json"] = {"image_ids": [owner.images[0].id]}
    context.response = await other.api.request(method, path, **kwargs)


@then("they are told it does not exist")
def step_not_found(context):
    r = context.response
    assert r.status == 404 and r.error_code == "not_found", f"{r.status} {r.body!r}"


@then("the owner's work is unchanged")
async def step_owner_unchanged(context):
    owner = context.researchers[0]
    assert await snapshot(owner) == context.before[owner.name]


@when("the other researcher sends {bad}")
async def step_send_bad(context, bad: str):
    owner, other = context.researchers
    context.response = await BAD_REQUESTS[bad](other, owner)


@then('the answer is {status:d} with the error "{code}"')
def step_answer_is(context, status: int, code: str):
    r = context.response
    assert r.status == status and r.error_code == code, f"expected {status} {code}, got {r.status} {r.body!r}"
    assert isinstance(r.body["error"].get("message"), str) and r.body["error"]["message"], r.body


@then("nothing of theirs has changed")
async def step_nothing_changed(context):
    for r in context.researchers:
        assert await snapshot(r) == context.before[r.name], f"{r.name}'s work changed"


@when('the researcher names a project "{name}" and uploads an image named "{filename}"')
async def step_odd_names(context, name: str, filename: str):
    r = context.researchers[0]
    context.odd_name = name
    context.odd_project = (await r.api.create_project(name))["id"]
    context.odd_upload = await r.api.upload(context.odd_project, [(filename, spheroid_png())])


@then("the project is listed with exactly that name")
async def step_listed_verbatim(context):
    r = context.researchers[0]
    listed = {p["id"]: p["name"] for p in await r.api.expect(200, "GET", "/api/projects")}
    assert listed[context.odd_project] == context.odd_name, listed


@then('the image is stored as "{stored}"')
async def step_stored_as(context, stored: str):
    r = context.researchers[0]
    assert [i["filename"] for i in context.odd_upload] == [stored]
    assert [i["filename"] for i in await r.api.images(context.odd_project)] == [stored]


@when("someone without a valid token asks for the researcher's project, images and events")
async def step_no_token(context):
    r = context.researchers[0]
    answers = []
    async with aiohttp.ClientSession() as s:
        for token in (None, "not-a-token"):
            headers = {"Authorization": f"Bearer {token}"} if token else {}
            for path in (f"/api/projects/{r.project_id}", f"/api/projects/{r.project_id}/images", "/api/queue"):
                async with s.get(r.api.base_url + path, headers=headers) as resp:
                    answers.append((path, resp.status, (await resp.json())["error"]["code"]))
    ws_url = r.api.base_url.replace("http://", "ws://") + "/api/events"
    for query in ("", "?token=not-a-token"):
        try:
            async with websockets.connect(ws_url + query):
                answers.append(("/api/events" + query, 101, "upgraded"))
        except websockets.InvalidStatus as exc:
            answers.append(("/api/events" + query, exc.response.status_code, "unauthorized"))
    context.answers = answers


@then('every answer is {status:d} with the error "{code}"')
def step_every_answer(context, status: int, code: str):
    wrong = [a for a in context.answers if a[1:] != (status, code)]
    assert not wrong, f"answered differently: {wrong}"
