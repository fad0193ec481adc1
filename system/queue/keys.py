"""Typed keys of the queue app's shared state (aiohttp ``web.AppKey``)."""

from __future__ import annotations

import weakref

import aiohttp
from aiohttp import web

from .config import QueueSettings
from .db import Database
from .events import EventHub
from .limits import SocketCount, WriteBuckets
from .metrics import ApiMetrics
from .store import Store

SETTINGS = web.AppKey("settings", QueueSettings)
DB = web.AppKey("db", Database)
STORE = web.AppKey("store", Store)
HUB = web.AppKey("hub", EventHub)
HTTP = web.AppKey("http", aiohttp.ClientSession)
METRICS = web.AppKey("metrics", ApiMetrics)
SOCKETS = web.AppKey("sockets", weakref.WeakSet)
WRITES = web.AppKey("writes", WriteBuckets)
SOCKETS_PER_USER = web.AppKey("sockets_per_user", SocketCount)
