"""The demo's app: says which of its declared secrets it received, never their values."""
import os

DECLARED = ["DATABASE_URL", "WEBHOOK_SLACK_SECRET", "OPENAI_API_KEY"]

for name in DECLARED:
    print(f"{name}: {'received' if os.environ.get(name) else 'not set'}")
