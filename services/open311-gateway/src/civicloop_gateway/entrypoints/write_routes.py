"""Open311 writes: POST requests, POST servicerequestupdates."""

from fastapi import APIRouter

router = APIRouter()
