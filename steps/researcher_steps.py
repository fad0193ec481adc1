"""Steps about researchers: accounts, projects and their images."""

from __future__ import annotations

import itertools

from behave import given

from harness.actors import Researcher, everyone

_turns = itertools.count()


async def _researcher_with_images(context, count: int) -> Researcher:
    """A new researcher whose requests go to one API process and whose live events come from another."""
    apis = [p.address for p in context.system.apis]
    n = next(_turns)
    researcher = await Researcher.sign_up(apis[n % len(apis)], context.http)
    await researcher.listen(apis[(n + 1) % len(apis)])
    await researcher.create_project()
    await researcher.upload_spheroids(count)
    return researcher


@given("a researcher with a project of {count:d} spheroid images")
async def step_a_researcher_with_images(context, count: int):
    context.researchers = [await _researcher_with_images(context, count)]


@given("{n:d} researchers, each with a project of {count:d} spheroid images")
async def step_researchers_with_images(context, n: int, count: int):
    context.researchers = await everyone(_researcher_with_images(context, count) for _ in range(n))


@given("{n:d} more researchers, each with a project of {count:d} spheroid images")
async def step_more_researchers(context, n: int, count: int):
    context.researchers += await everyone(_researcher_with_images(context, count) for _ in range(n))


@given("the first researcher's project also holds an image too small to segment")
async def step_tiny_image(context):
    researcher = context.researchers[0]
    context.tiny_image = await researcher.upload_tiny_image()
