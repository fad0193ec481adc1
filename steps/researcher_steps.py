"""Steps about researchers: accounts, projects and their images."""

from __future__ import annotations

from behave import given

from harness.researchers import seeded


@given("a researcher with a project of {count:d} spheroid images")
async def step_a_researcher_with_images(context, count: int):
    context.state.researchers = [await seeded.researcher_with_images(context, count)]


@given("a researcher with a project of one spheroid image")
async def step_a_researcher_with_one_image(context):
    context.state.researchers = [await seeded.researcher_with_images(context, 1)]


@given("{n:d} researchers, each with a project of one spheroid image")
async def step_researchers_with_one_image(context, n: int):
    context.state.researchers = await seeded.researchers_with_images(context, n, 1)


@given("{n:d} researchers, each with a project of {count:d} spheroid images")
async def step_researchers_with_images(context, n: int, count: int):
    context.state.researchers = await seeded.researchers_with_images(context, n, count)


@given("{n:d} more researchers, each with a project of {count:d} spheroid images")
async def step_more_researchers(context, n: int, count: int):
    context.state.researchers += await seeded.researchers_with_images(context, n, count)


@given("the first researcher's project also holds an image too small to segment")
async def step_tiny_image(context):
    context.state.tiny_image = await context.state.researchers[0].upload_tiny_image()
