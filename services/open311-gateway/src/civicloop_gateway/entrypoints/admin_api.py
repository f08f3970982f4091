"""Admin API: the jurisdiction's service catalogue (each change is an event)."""

from fastapi import APIRouter

router = APIRouter()
