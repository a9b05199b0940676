"""The article's slow third-party API on aiohttp: GET /?delay=S answers
'slow api response' after S seconds (asyncio.sleep: the loop stays free).

PORT: where to listen (127.0.0.1, or HOST).
"""

import asyncio
import os

from aiohttp import web


async def handle(request):
    await asyncio.sleep(float(request.query.get("delay") or 1))
    return web.Response(text="slow api response")


async def healthz(request):
    return web.Response(text="ok")


app = web.Application()
app.add_routes([web.get("/", handle), web.get("/healthz", healthz)])

if __name__ == "__main__":
    web.run_app(
        app,
        host=os.environ.get("HOST", "127.0.0.1"),
        port=int(os.environ.get("PORT", "4000")),
        access_log=None,
        print=None,
        backlog=4096,
    )
