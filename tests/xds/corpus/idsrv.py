#!/usr/bin/env python3
# SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
"""
Identity backend for the corpus test: answers every HTTP request with a 200
whose body is the local address the connection was made to, so one server
on 0.0.0.0:PORT (with a local route for the endpoint network) tells the
client which endpoint, hence which cluster, kmesh chose.

    idsrv.py PORT READY_FILE
"""
import asyncio
import sys


async def serve(reader, writer):
    try:
        head = b''
        while b'\r\n\r\n' not in head and len(head) < 16384:
            chunk = await asyncio.wait_for(reader.read(4096), 5)
            if not chunk:
                break
            head += chunk
        name = writer.get_extra_info('sockname')[0]
        body = (name + '\n').encode()
        writer.write(b'HTTP/1.1 200 OK\r\nContent-Length: %d\r\nX-Backend: %s\r\n'
                     b'Connection: close\r\n\r\n%s' % (len(body), name.encode(), body))
        await writer.drain()
    except (asyncio.TimeoutError, ConnectionError):
        pass
    finally:
        writer.close()


async def main():
    srv = await asyncio.start_server(serve, '0.0.0.0', int(sys.argv[1]), backlog=1024)
    with open(sys.argv[2], 'w') as f:
        f.write('ready\n')
    async with srv:
        await srv.serve_forever()

asyncio.run(main())
