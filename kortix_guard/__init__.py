"""kortix-guard: keep a Kortix project's secrets out of git and get them into CI."""
