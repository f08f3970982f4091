from civicloop_runtime.alembic_env import run

run(schema="selfheal")
