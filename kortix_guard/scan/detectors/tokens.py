"""Provider tokens (KG320): formats with a distinctive prefix or checksum are `high`; shapes
without a prefix (Discord bot tokens, Twilio, Telegram, Mailchimp) are `medium`."""
from __future__ import annotations

from kortix_guard.scan.detectors import H, M, Example, regex_detector

E = Example

_B = rb"(?<![A-Za-z0-9_-])"  # a token starts at a boundary ('-' and '_' are token characters)
_A = rb"(?![A-Za-z0-9_-])"


def _token(id: str, what: str, confidence, triggers, pattern: bytes, examples, negatives=(),
           **kw):
    return regex_detector(id, "KG320", what, confidence, triggers, pattern,
                          examples=tuple(E(p, t) for p, t in examples),
                          negatives=tuple(E(p, t) for p, t in negatives), **kw)


DETECTORS = [
    _token("openai", "OpenAI key", H, (rb"sk-proj-", rb"sk-svcacct-", rb"sk-admin-"),
           _B + rb"sk-(?:proj|svcacct|admin)-[A-Za-z0-9_-]{20,}",
           [("app.py", 'OPENAI_KEY = "sk-proj-{alnum:48}"')],
           [("docs.md", "keys start with sk-proj- and are long")]),
    _token("anthropic", "Anthropic key", H, (rb"sk-ant-",),
           _B + rb"sk-ant-[a-z0-9]{2,8}-[A-Za-z0-9_-]{20,}",
           [("a.env.txt", "key: sk-ant-api03-{alnum:60}")]),
    _token("github", "GitHub token", H, (rb"gh[pousr]_", rb"github_pat_"),
           _B + rb"(?:github_pat_[A-Za-z0-9_]{22,}|gh[pousr]_[A-Za-z0-9]{36,})" + _A,
           [("ci.yml", "token: ghp_{alnum:36}"), ("x.json", '{"t": "github_pat_{alnum:82}"}')],
           [("a.py", 'prefix = "ghp_"')]),
    _token("gitlab", "GitLab token", H, (rb"glpat-", rb"glptt-", rb"gldt-", rb"glrt-"),
           _B + rb"gl(?:pat|ptt|dt|rt)-[A-Za-z0-9_-]{20,}",
           [("x.sh", "export GL=glpat-{alnum:20}")]),
    _token("stripe", "Stripe live key", H, (rb"sk_live_", rb"rk_live_"),
           _B + rb"[rs]k_live_[0-9a-zA-Z]{24,}",
           [("pay.rb", "Stripe.api_key = 'sk_live_{alnum:24}'")],
           [("pay.rb", "Stripe.publishable = 'pk_live_{alnum:24}'")]),
    _token("slack", "Slack token", H, (rb"xox",),
           _B + rb"xox[abposre]-[0-9]{6,}-[A-Za-z0-9-]{10,}",
           [("bot.py", 'SLACK = "xoxb-{digits:12}-{alnum:24}"')]),
    _token("slack-webhook", "Slack webhook", H, (rb"hooks.slack.com/",),
           rb"https://hooks\.slack\.com/(?:services|workflows)/T[A-Z0-9]+/B[A-Z0-9]+/[A-Za-z0-9]{16,}",
           [("n.yml", "url: https://hooks.slack.com/services/T{upper:8}/B{upper:8}/{alnum:24}")]),
    _token("google", "Google API key", H, (rb"AIza",), _B + rb"AIza[0-9A-Za-z_-]{35}" + _A,
           [("maps.js", "const k = 'AIza{alnum:35}';")]),
    _token("aws", "AWS access key id", H, (rb"AKIA", rb"ASIA", rb"ABIA", rb"ACCA"),
           rb"\b(?:AKIA|ASIA|ABIA|ACCA)[0-9A-Z]{16}\b",
           [("deploy.sh", "AWS_ACCESS_KEY_ID=AKIA{upper:16}")],
           [("docs.md", "AWS_ACCESS_KEY_ID=AKIAIOSFODNN7EXAMPLE")]),
    _token("azure-storage", "Azure storage account key", H, (rb"AccountKey=",),
           rb"AccountKey=(?P<s>[A-Za-z0-9+/]{86}==)",
           [("app.config", "DefaultEndpointsProtocol=https;AccountName=x;AccountKey={b64:86}==")]),
    _token("npm", "npm token", H, (rb"npm_",), _B + rb"npm_[A-Za-z0-9]{36}" + _A,
           [(".yarnrc.yml", "npmAuthToken: npm_{alnum:36}")]),
    _token("pypi", "PyPI token", H, (rb"pypi-AgEIcHlwaS5vcmc",),
           rb"pypi-AgEIcHlwaS5vcmc[A-Za-z0-9_-]{50,}",
           [("publish.sh", "TWINE_PASSWORD=pypi-AgEIcHlwaS5vcmc{alnum:70}")]),
    _token("sendgrid", "SendGrid key", H, (rb"SG.",),
           _B + rb"SG\.[A-Za-z0-9_-]{22}\.[A-Za-z0-9_-]{43}" + _A,
           [("mail.py", 'KEY = "SG.{alnum:22}.{alnum:43}"')]),
    _token("digitalocean", "DigitalOcean token", H, (rb"dop_v1_", rb"doo_v1_", rb"dor_v1_"),
           _B + rb"do[por]_v1_[a-f0-9]{64}" + _A,
           [("terraform.tfvars", 'do_token = "dop_v1_{hex:64}"')]),
    _token("shopify", "Shopify token", H, (rb"shpat_", rb"shpss_", rb"shpca_", rb"shppa_"),
           _B + rb"shp(?:at|ss|ca|pa)_[a-fA-F0-9]{32}" + _A,
           [("shop.env.txt", "SHOPIFY_TOKEN=shpat_{hex:32}"),
            ("shop.json", '{"secret": "shpss_{hex:32}"}')]),
    _token("discord-webhook", "Discord webhook", H, (rb"discord.com/api/webhooks/",
                                                     rb"discordapp.com/api/webhooks/"),
           rb"https://(?:ptb\.|canary\.)?discord(?:app)?\.com/api/webhooks/\d{17,20}/[A-Za-z0-9_-]{60,}",
           [("alerts.yml", "hook: https://discord.com/api/webhooks/{digits:18}/{alnum:68}")]),
    _token("discord-bot", "Discord bot token", M, (rb"[MNO][A-Za-z0-9_-]{23,25}\.[A-Za-z0-9_-]{6}\.",),
           _B + rb"[MNO][A-Za-z0-9_-]{23,25}\.[A-Za-z0-9_-]{6}\.[A-Za-z0-9_-]{27,38}" + _A,
           [("bot.js", "client.login('MT{alnum:22}.{alnum:6}.{alnum:38}');")]),
    _token("huggingface", "Hugging Face token", H, (rb"hf_",), _B + rb"hf_[A-Za-z]{34}" + _A,
           [("train.py", 'HF_TOKEN = "hf_{letters:34}"')]),
    _token("square", "Square token", H, (rb"sq0csp-", rb"sq0atp-", rb"EAAA"),
           _B + rb"(?:sq0csp-[A-Za-z0-9_-]{43}|sq0atp-[A-Za-z0-9_-]{22}|EAAA[A-Za-z0-9_-]{60})" + _A,
           [("pay.py", 'SQUARE = "sq0csp-{alnum:43}"')]),
    _token("twilio", "Twilio API key", M, (rb"SK[0-9a-fA-F]{32}",),
           rb"\bSK[0-9a-fA-F]{32}\b", [("sms.py", 'TWILIO_KEY = "SK{hex:32}"')]),
    _token("telegram", "Telegram bot token", M, (rb"[0-9]{8,10}:AA",),
           rb"\b[0-9]{8,10}:AA[0-9A-Za-z_-]{33}" + _A,
           [("bot.py", 'TOKEN = "{digits:10}:AA{alnum:33}"')]),
    _token("mailchimp", "Mailchimp key", M, (rb"[0-9a-f]{32}-us[0-9]",),
           rb"\b[0-9a-f]{32}-us[0-9]{1,2}\b", [("mail.py", 'KEY = "{hex:32}-us12"')]),
]
