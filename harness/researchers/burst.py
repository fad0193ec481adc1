"""A burst of one researcher's requests at the same moment, good, bad and failing ones mixed.

Each kind of request has the answer it gets when a connection is free; a
request that finds every connection taken for longer than the pool's wait must
get 503 ``busy`` with ``Retry-After`` instead.  Nothing may hang: each request
has a bound, and one that passes it counts as hung.
"""

from __future__ import annotations

import asyncio
import itertools
from collections import Counter
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field

import aiohttp

from harness.clients.api import ApiClient, ApiResponse, upload_form
from harness.researchers.actors import Researcher
from system.contract import MAX_ID

# Generous: a request that takes this long is hanging, not waiting for a connection.
HANG_S = 60


@dataclass(frozen=True)
class Kind:
    what: str
    status: int  # the answer when a connection is free
    send: Callable[[ApiClient, int], Awaitable[ApiResponse]]  # (client, project id) -> answer


def _corrupt_upload(api: ApiClient, project: int) -> Awaitable[ApiResponse]:
    return api.request("POST", f"/api/projects/{project}/images", data=upload_form([("bad.png", b"\x89PNG\r\n\x1a\nbroken")]))


KINDS = (
    Kind("the project's images", 200, lambda api, project: api.request("GET", f"/api/projects/{project}/images")),
    Kind("an image that does not exist", 404, lambda api, project: api.request("GET", f"/api/images/{MAX_ID}")),
    Kind("a corrupt image upload", 400, _corrupt_upload),
    Kind("malformed JSON", 400, lambda api, project: api.request("POST", "/api/projects", data=b'{"name": "unclosed',
                                                               headers={"Content-Type": "application/json"})),
)


@dataclass
class Burst:
    """The requests of one burst, sent at once; ``answers`` fills in as they come back."""

    researcher: Researcher
    n: int
    answers: list[tuple[Kind, ApiResponse | BaseException]] = field(default_factory=list)

    async def start(self) -> None:
        self._session = aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=0), timeout=aiohttp.ClientTimeout(total=HANG_S))
        api = ApiClient(self.researcher.api.base_url, self._session, self.researcher.api.token)

        async def one(kind: Kind) -> None:
            try:
                self.answers.append((kind, await kind.send(api, self.researcher.project_id)))
            except (aiohttp.ClientError, TimeoutError) as exc:
                self.answers.append((kind, exc))

        self._tasks = [asyncio.create_task(one(k)) for k in itertools.islice(itertools.cycle(KINDS), self.n)]

    def pending(self) -> int:
        return self.n - len(self.answers)

    def busy(self) -> int:
        return sum(1 for _, a in self.answers if isinstance(a, ApiResponse) and a.error_code == "busy")

    async def finish(self) -> None:
        """Every request answered (or past its bound)."""
        await asyncio.gather(*self._tasks)
        await self._session.close()

    def _right_images(self, body) -> bool:
        return [i["id"] for i in body] == [image.id for image in self.researcher.images]

    def outcomes(self) -> Counter:
        """'as asked', 'busy', or what went wrong, per answer."""
        counted: Counter = Counter()
        for kind, answer in self.answers:
            if isinstance(answer, BaseException):
                counted[f"no answer ({type(answer).__name__}) to {kind.what}"] += 1
            elif answer.status == kind.status and (kind.status != 200 or self._right_images(answer.body)):
                counted["as asked"] += 1
            elif answer.status == 503 and answer.error_code == "busy" and answer.headers.get("Retry-After"):
                counted["busy"] += 1
            else:
                counted[f"{answer.status} {answer.error_code} to {kind.what}"] += 1
        return counted
