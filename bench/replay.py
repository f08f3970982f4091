async def run(*, requests, echo):
    raise NotImplementedError
