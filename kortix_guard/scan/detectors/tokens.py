"""Provider tokens (KG320), each written from the provider's documented format (its `source`),
or, where a provider documents none, from a peer scanner's rule (gitleaks, betterleaks or
kingfisher: repository and path). A distinctive prefix is `high`; a prefix shared with other
formats, or a token that carries a checksum that fails, is lower; a key with no prefix at all
is found only under its conventional variable name (`MISTRAL_API_KEY=…`), at `medium`."""
from __future__ import annotations

import binascii
import re

from kortix_guard.scan.detectors.base import Detector, Example, H, L, M, regex_detector, tight_trigger
from kortix_guard.scan.model import Confidence

E = Example

_B = rb"(?<![A-Za-z0-9_-])"  # a token starts at a boundary ('-' and '_' are token characters)
_A = rb"(?![A-Za-z0-9_-])"
_BASE62 = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
# Peer rules cited where a provider documents no format (fetched at these paths).
BETTERLEAKS = "betterleaks/betterleaks config/betterleaks.toml"
GITLEAKS = "gitleaks/gitleaks config/gitleaks.toml"
KINGFISHER = "mongodb/kingfisher data/rules/"


def crc32_base62(body: str) -> str:
    """The six-character checksum GitHub and npm tokens end with: CRC32 of the random part,
    in base62, left-padded with zeros."""
    n = binascii.crc32(body.encode("ascii"))
    digits = ""
    while n:
        n, r = divmod(n, 62)
        digits = _BASE62[r] + digits
    return digits.rjust(6, "0")


def _checksummed(token: bytes) -> Confidence:
    """`high` when the last six characters are the CRC32 of the thirty before them; else the
    token is a made-up one (a test fixture, a typo), shown only at `low`."""
    text = token.decode("ascii", "replace")
    body, checksum = text[-36:-6], text[-6:]
    return H if crc32_base62(body) == checksum else L


def _stripe(token: bytes) -> Confidence:
    """Live keys move money: `high`; test-mode keys read test data only: `medium`."""
    return H if b"_live_" in token else M


def _token(id: str, what: str, confidence: Confidence, triggers: tuple[bytes, ...], pattern: bytes,
           examples, negatives=(), *, source: str, **kw) -> Detector:
    return regex_detector(id, "KG320", what, confidence, triggers, pattern,
                          examples=tuple(E(p, t) for p, t in examples),
                          negatives=tuple(E(p, t) for p, t in negatives), source=source, **kw)


def _named(id: str, what: str, names: bytes, value: bytes, examples, negatives=(), *,
           source: str) -> Detector:
    """A key with no prefix of its own, found only as the value of its conventional name
    (`SERPER_API_KEY=…`, `"serper_api_key": "…"`, with any prefix such as `NEXT_PRIVATE_`)."""
    assignment = (rb"[\"']?\]?[ \t]*(?::=|=>|=|:)[ \t]*[\"'`]?(?P<s>" + value + rb")" + _A)
    pattern = rb"(?P<key>(?<![A-Za-z0-9])[A-Za-z0-9_.-]*?(?:" + names + rb"))" + assignment
    # The trigger is the name with its value: the name alone is in every file that reads it.
    trigger = tight_trigger(rb"(?:" + names + rb")" + assignment) or names
    return _token(id, what, M, (trigger,), pattern, examples, negatives, source=source,
                  caseless=True)


# Kortix's own credentials: a prefix and a random body of letters and digits (kortix-ai/suna
# apps/api/src/shared/crypto.ts, oauth/, scim/ at the commit docs/choices.md pins). `pk_` and 32
# is a public key id, shown on purpose: never reported. Kortix's own tests use made-up ones
# (`kortix_faketoken…`, `kortix_tnl_test`, `kortix_tnl_STALEAAAA…`, `kortix_oat_FAKE_TEST_TOKEN`):
# a body that is not random is not a credential.
KORTIX = "kortix-ai/suna apps/api/src/shared/crypto.ts"
_NOT_RANDOM = re.compile(rb"(?i)fake|test|example|dummy|sample|placeholder|stale|invalid|bogus"
                         rb"|xxxx|0123|1234|abcd|(.)\1{4}")


def _kortix_random(token: bytes) -> bool:
    body = token[token.rindex(b"_") + 1:]
    return len(set(body)) >= 12 and _NOT_RANDOM.search(body) is None


def _kortix(id: str, what: str, kind: bytes | None, length: int, revoke: str, examples,
            negatives=(), *, source: str = KORTIX) -> Detector:
    prefix = b"kortix_" + (kind + b"_" if kind else b"")
    return regex_detector(id, "KG320", what, H, (prefix,),
                          _B + re.escape(prefix) + rb"[A-Za-z0-9]{%d}" % length + _A,
                          validate=_kortix_random, hint=revoke, source=source,
                          examples=tuple(E(p, t) for p, t in examples),
                          negatives=tuple(E(p, t) for p, t in negatives))


_ACCOUNT_TOKENS = "revoke it in Kortix (account settings → Tokens) and make a new one"
KORTIX_DETECTORS = [
    _kortix("kortix-pat", "Kortix personal access token", b"pat", 32,
            _ACCOUNT_TOKENS + " (`kortix login` makes the CLI's)",
            [("ci.env.txt", "KORTIX_CLI_TOKEN=kortix_pat_{alnum:32}")],
            [("auth.test.ts", "const t = 'kortix_pat_parity';")]),
    _kortix("kortix-sa", "Kortix service account token", b"sa", 32,
            "rotate the service account's secret in Kortix (account settings → IAM → Service "
            "accounts), then update CI's KORTIX_CLI_TOKEN",
            [("deploy.yml", "  KORTIX_CLI_TOKEN: kortix_sa_{alnum:32}")]),
    _kortix("kortix-sb", "Kortix sandbox token", b"sb", 32,
            "a session's own token (its KORTIX_TOKEN): end the session, and its sandbox's "
            "token goes with it",
            [("debug.log", "KORTIX_TOKEN=kortix_sb_{alnum:32}")],
            [("auth.test.ts", "token === 'kortix_sb_valid'")]),
    _kortix("kortix-tnl", "Kortix tunnel token", b"tnl", 32,
            "revoke the tunnel in Kortix (Computers) and set it up again",
            [("tunnel.sh", "kortix-tunnel --token kortix_tnl_{alnum:32}")],
            [("tunnel.test.ts", "const token = 'kortix_tnl_test';"),
             ("tunnel.test.ts", "const stale = 'kortix_tnl_STALEAAAAAAAAAAAAAAAAAAAAAAAAAAA';")]),
    _kortix("kortix-gw", "Kortix gateway key", b"gw", 32,
            "revoke it in the project's Gateway (API keys) and make a new one",
            [("llm.py", 'client = OpenAI(api_key="kortix_gw_{alnum:32}")')],
            [("Gateway.tsx", '<GatewayApiReference apiKey="kortix_gw_..." />')]),
    _kortix("kortix-oat", "Kortix OAuth access token", b"oat", 48,
            "revoke the app's access in Kortix (account settings → Tokens → OAuth apps)",
            [("session.json", '{"access_token": "kortix_oat_{alnum:48}"}')],
            [("oauth.test.ts", "'Bearer kortix_oat_faketoken123456789012345678901234567890123456'"),
             ("hash.test.ts", "const token = 'kortix_oat_FAKE_TEST_TOKEN';")]),
    _kortix("kortix-ort", "Kortix OAuth refresh token", b"ort", 48,
            "revoke the app's access in Kortix (account settings → Tokens → OAuth apps)",
            [("session.json", '{"refresh_token": "kortix_ort_{alnum:48}"}')]),
    _kortix("kortix-scim", "Kortix SCIM token", b"scim", 40,
            "revoke it in Kortix (account settings → Identity & directory → SCIM Provisioning)",
            [("okta.tf", 'scim_token = "kortix_scim_{alnum:40}"')],
            [("scim.test.ts", ".withBearer('kortix_scim_totally-bogus-token', 'BOGUS')")]),
    _kortix("kortix-api-key", "Kortix API key", None, 32,
            "revoke it in Kortix (account settings → API keys) and make a new one",
            [("client.py", 'Kortix(api_key="kortix_{alnum:32}")')],
            [("client.py", 'KORTIX_PUBLIC_KEY = "pk_{alnum:32}"'),
             ("auth.test.ts", "'Bearer kortix_faketoken123456789012345678901234567890'")]),
]

DETECTORS = [
    *KORTIX_DETECTORS,
    # --- AI and tool providers ----------------------------------------------------------
    _token("openai", "OpenAI key", H, (rb"sk-proj-", rb"sk-svcacct-", rb"sk-admin-", rb"T3BlbkFJ"),
           _B + rb"(?:sk-(?:proj|svcacct|admin)-[A-Za-z0-9_-]{20,}"
                rb"|sk-[A-Za-z0-9]{20}T3BlbkFJ[A-Za-z0-9]{20})" + _A,
           [("app.py", 'OPENAI_KEY = "sk-proj-{alnum:48}"'),
            ("old.env.txt", "key=sk-{alnum:20}T3BlbkFJ{alnum:20}")],
           [("docs.md", "keys start with sk-proj- and are long")],
           source="https://platform.openai.com/docs/api-reference/authentication"),
    _token("anthropic", "Anthropic key", H, (rb"sk-ant-",),
           _B + rb"sk-ant-(?:api|admin|oat)\d{2}-[A-Za-z0-9_-]{20,}",
           [("a.env.txt", "key: sk-ant-api03-{alnum:93}AA"),
            ("admin.sh", "export ANTHROPIC_ADMIN_KEY=sk-ant-admin01-{alnum:93}AA")],
           [("docs.md", "Anthropic keys look like sk-ant-api03-...")],
           source="https://docs.anthropic.com/en/api/getting-started"),
    _token("openrouter", "OpenRouter key", H, (rb"sk-or-v1-",), _B + rb"sk-or-v1-[0-9a-f]{64}" + _A,
           [("agent.py", 'OPENROUTER_API_KEY = "sk-or-v1-{hex:64}"')],
           [("agent.py", 'key = "sk-or-v1-{hex:20}"')], source=BETTERLEAKS + " openrouter-api-key"),
    _token("groq", "Groq key", H, (rb"gsk_",), _B + rb"gsk_[A-Za-z0-9]{52}" + _A,
           [("llm.ts", "const groq = new Groq({ apiKey: 'gsk_{alnum:52}' });")],
           [("llm.ts", "const prefix = 'gsk_';")], source=KINGFISHER + "groq.yml"),
    _token("xai", "xAI key", H, (rb"xai-",), _B + rb"xai-[A-Za-z0-9_-]{70,120}" + _A,
           [("grok.py", 'XAI_API_KEY = "xai-{alnum:80}"')], [("grok.py", 'model = "xai-grok-2"')],
           source=BETTERLEAKS + " xai-api-key"),
    _token("google", "Google API key", H, (rb"AIza",), _B + rb"AIza[0-9A-Za-z_-]{35}" + _A,
           [("maps.js", "const k = 'AIza{alnum:35}';")], [("maps.js", "const k = 'AIza{alnum:20}';")],
           source="https://cloud.google.com/docs/authentication/api-keys"),
    _named("mistral", "Mistral key", rb"MISTRAL_API_KEY", rb"[A-Za-z0-9]{32}",
           [("production.env", "MISTRAL_API_KEY={alnum:32}")],
           [("settings.py", 'MISTRAL_MODEL = "{alnum:32}"')], source=BETTERLEAKS + " mistral-api-key"),
    _named("cohere", "Cohere key", rb"COHERE_API_KEY|CO_API_KEY", rb"[A-Za-z0-9]{40}",
           [("agent.yaml", "cohere_api_key: {alnum:40}")], [("agent.yaml", "cohere_model: command-r")],
           source=GITLEAKS + " cohere-api-token"),
    _token("perplexity", "Perplexity key", H, (rb"pplx-",), _B + rb"pplx-[A-Za-z0-9]{48}" + _A,
           [("search.py", 'PPLX = "pplx-{alnum:48}"')], source=GITLEAKS + " perplexity-api-key"),
    _named("deepseek", "DeepSeek key", rb"DEEPSEEK_API_KEY", rb"sk-[a-f0-9]{32}",
           [("local.env", "DEEPSEEK_API_KEY=sk-{hex:32}")], source=BETTERLEAKS + " deepseek-api-key"),
    _token("together", "Together AI key", H, (rb"tgp_v1_",), _B + rb"tgp_v1_[A-Za-z0-9_-]{43}" + _A,
           [("llm.py", 'TOGETHER = "tgp_v1_{alnum:43}"')], source=BETTERLEAKS + " togetherai-api-key"),
    _named("together-legacy", "Together AI key", rb"TOGETHER_API_KEY", rb"[a-f0-9]{64}",
           [("local.env", "TOGETHER_API_KEY={hex:64}")], source=BETTERLEAKS + " togetherai-api-key"),
    _token("fireworks", "Fireworks AI key", M, (rb"fw_",), _B + rb"fw_[A-Za-z0-9]{24}" + _A,
           [("llm.py", 'FIREWORKS_API_KEY = "fw_{alnum:24}"')], [("llm.py", 'flag = "fw_enabled"')],
           source="https://docs.fireworks.ai/api-reference/introduction"),
    _token("tavily", "Tavily key", H, (rb"tvly-",), _B + rb"tvly-(?:dev-|prod-)?[A-Za-z0-9]{24,40}" + _A,
           [("tools.py", 'TavilyClient(api_key="tvly-dev-{alnum:32}")')],
           [("docs.md", 'TavilyClient(api_key="tvly-YOUR_API_KEY")')],
           source="https://docs.tavily.com/guides/quickstart"),
    _token("firecrawl", "Firecrawl key", M, (rb"fc-",), _B + rb"fc-[0-9a-f]{32}" + _A,
           [("crawl.ts", "new Firecrawl({ apiKey: 'fc-{hex:32}' })")],
           [("docs.md", "Authorization: Bearer fc-123456789")],
           source="https://docs.firecrawl.dev/api-reference/v2-introduction"),
    _named("exa", "Exa key", rb"EXA_API_KEY",
           rb"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}",
           [("agents.env", "EXA_API_KEY={uuid}")], [("agents.env", "EXA_API_URL=https://api.exa.ai")],
           source="https://docs.exa.ai/reference/getting-started"),
    _named("serper", "Serper key", rb"SERPER_API_KEY", rb"[0-9a-f]{40}",
           [("agents.env", "SERPER_API_KEY={hex:40}")], [("tools.py", "SERPER_API_KEY = os.getenv('SERPER_API_KEY')")],
           source="https://serper.dev/ (no published format: the conventional name)"),
    _token("replicate", "Replicate token", H, (rb"r8_",), _B + rb"r8_[A-Za-z0-9]{37}" + _A,
           [("gen.py", 'REPLICATE_API_TOKEN = "r8_{alnum:37}"')], [("gen.py", 'x = "r8_short"')],
           source=BETTERLEAKS + " replicate-api-token"),
    _token("elevenlabs", "ElevenLabs key", M, (rb"sk_[0-9a-f]{48}",), _B + rb"sk_[0-9a-f]{48}" + _A,
           [("voice.ts", "const eleven = 'sk_{hex:48}';")], source=KINGFISHER + "elevenlabs.yml"),
    _token("huggingface", "Hugging Face token", H, (rb"hf_",), _B + rb"hf_[A-Za-z]{34}" + _A,
           [("train.py", 'HF_TOKEN = "hf_{letters:34}"')], [("train.py", 'HF_TOKEN = "hf_xxx"')],
           source="https://huggingface.co/docs/hub/security-tokens"),
    _token("pinecone", "Pinecone key", H, (rb"pcsk_",), _B + rb"pcsk_[A-Za-z0-9]{5,6}_[A-Za-z0-9]{63}" + _A,
           [("rag.py", 'PINECONE_API_KEY = "pcsk_{alnum:6}_{alnum:63}"')],
           source=BETTERLEAKS + " pinecone-api-key.2"),
    _token("langsmith", "LangSmith key", H, (rb"lsv2_pt_", rb"lsv2_sk_"),
           _B + rb"lsv2_(?:pt|sk)_[0-9a-f]{32}_[0-9a-f]{10}" + _A,
           [("agents.env", "LANGSMITH_API_KEY=lsv2_pt_{hex:32}_{hex:10}")],
           source=BETTERLEAKS + " langchain-langsmith-personal-access-token"),
    # The providers Kortix agents call that neither the built-ins nor the catalogs had (from
    # each provider's documented or observed format; docs/scan.md lists the ones with none).
    _token("jina", "Jina AI key", H, (rb"jina_",), _B + rb"jina_[0-9a-f]{32}[A-Za-z0-9_-]{28}" + _A,
           [("embed.py", 'JINA_API_KEY = "jina_{hex:32}{alnum:28}"')],
           [("embed.py", 'model = "jina_embeddings_v3_base_en_with_late_chunking_enabled"')],
           source="https://jina.ai/ (keys shown as jina_ + 32 hex + 28; noseyparker np.jina.1)"),
    _token("daytona", "Daytona key", H, (rb"dtn_",), _B + rb"dtn_[0-9a-f]{64}" + _A,
           [("sandbox.py", 'DaytonaConfig(api_key="dtn_{hex:64}")')],
           [("sandbox.py", "DaytonaConfig(api_key='dtn_...')")],
           source="https://www.daytona.io/docs/en/api-keys (keys as issued: dtn_ + 64 hex)"),
    _token("helicone", "Helicone key", H, (rb"[sp]k-helicone-",),
           _B + rb"[sp]k-helicone-(?:eu-|proxy-)?[a-z0-9]{7}-[a-z0-9]{7}-[a-z0-9]{7}-[a-z0-9]{7}"
           + _A,
           [("llm.ts", "'Helicone-Auth': 'Bearer sk-helicone-{lower:7}-{lower:7}-{lower:7}-{lower:7}'"),
            ("agents.env", "HELICONE_API_KEY=pk-helicone-eu-{lower:7}-{lower:7}-{lower:7}-{lower:7}")],
           [("agents.env", "HELICONE_API_KEY=sk-helicone-...")],
           source="Helicone/helicone (its key generator: base32 groups of 7 with dashes)"),
    _token("inngest", "Inngest signing key", H, (rb"signkey-",),
           _B + rb"signkey-(?:prod|test|branch)-[0-9a-f]{64}" + _A,
           [("route.ts", 'serve({ client, functions, signingKey: "signkey-prod-{hex:64}" })')],
           [("route.ts", 'signingKey: "signkey-prod-..."'), ("a.test.ts", 'KEY = "signkey-prod-123"')],
           source="https://www.inngest.com/docs/platform/signing-keys"),
    _token("stytch", "Stytch secret", H, (rb"secret-(?:test|live)-",),
           _B + rb"secret-(?:test|live)-[A-Za-z0-9_=-]{28,48}" + _A,
           [("production.env", "STYTCH_SECRET=secret-live-{alnum:36}")],
           [("README.md", "STYTCH_SECRET=secret-test-xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx")],
           grade=lambda t: H if t.startswith(b"secret-live-") else M,
           source="https://stytch.com/docs/api/authentication (secret-test-/secret-live-)"),
    _token("langfuse", "Langfuse secret key", H, (rb"sk-lf-",),
           _B + rb"sk-lf-[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}" + _A,
           [("tracing.py", 'LANGFUSE_SECRET_KEY = "sk-lf-{uuid}"')],
           [("tracing.py", 'LANGFUSE_PUBLIC_KEY = "pk-lf-{uuid}"')],
           source="https://langfuse.com/docs/api (sk-lf- secret, pk-lf- public key)"),
    _token("cerebras", "Cerebras key", H, (rb"csk-",), _B + rb"csk-[a-z0-9]{48}" + _A,
           [("llm.py", 'CEREBRAS_API_KEY = "csk-{hex:48}"')], [("llm.py", 'key = "csk-..."')],
           source="https://inference-docs.cerebras.ai/ (keys as issued: csk- + 48)"),
    _token("trigger-dev", "Trigger.dev secret key", H, (rb"tr_(?:dev|prod|stg|preview)_",),
           _B + rb"tr_(?:dev|prod|stg|preview)_[A-Za-z0-9]{20,}" + _A,
           [("trigger.env", "TRIGGER_SECRET_KEY=tr_prod_{alnum:20}")],
           [("trigger.env", "TRIGGER_SECRET_KEY=tr_dev_...")],
           source="https://trigger.dev/docs/apikeys (tr_dev_, tr_stg_, tr_prod_)"),
    # No published format: found under the provider's conventional names only.
    _named("portkey", "Portkey key", rb"PORTKEY_API_KEY|x-portkey-api-key", rb"[A-Za-z0-9+/=]{24,40}",
           [("gateway.env", "PORTKEY_API_KEY={alnum:28}")],
           [("gateway.env", "PORTKEY_API_KEY=${{PORTKEY_API_KEY}}")],
           source="https://portkey.ai/docs/api-reference/inference-api/authentication (no format)"),
    _named("pipedream", "Pipedream OAuth client secret", rb"PIPEDREAM_CLIENT_SECRET",
           rb"[A-Za-z0-9_-]{40,48}", [("connect.env", "PIPEDREAM_CLIENT_SECRET={alnum:43}")],
           [("connect.env", "PIPEDREAM_CLIENT_SECRET=your_pipedream_client_secret_here")],
           source="https://pipedream.com/docs/connect/api-reference/authentication (no format)"),
    _named("assemblyai", "AssemblyAI key", rb"ASSEMBLYAI_API_KEY", rb"[0-9a-f]{32}",
           [("voice.env", "ASSEMBLYAI_API_KEY={hex:32}")],
           source="https://www.assemblyai.com/docs (no format; 32 hex as issued)"),
    _named("deepgram", "Deepgram key", rb"DEEPGRAM_API_KEY", rb"[0-9a-f]{40}",
           [("voice.env", "DEEPGRAM_API_KEY={hex:40}")],
           source="https://developers.deepgram.com/docs/create-additional-api-keys (no format)"),
    _named("voyage", "Voyage AI key", rb"VOYAGE_API_KEY", rb"pa-[A-Za-z0-9_-]{30,60}",
           [("rag.env", "VOYAGE_API_KEY=pa-{alnum:43}")], [("rag.env", "VOYAGE_API_KEY=pa-...")],
           source="https://docs.voyageai.com/docs/api-key-and-installation (pa- as issued)"),
    _token("e2b", "E2B key", H, (rb"e2b_",), _B + rb"e2b_[0-9a-f]{40}" + _A,
           [("sandbox.py", 'E2B_API_KEY = "e2b_{hex:40}"')],
           [("sandbox.py", 'prefix = "e2b_{hex:20}"')],
           source="https://e2b.dev/docs/api-key (the SDK checks `e2b_` and 40 hex characters)"),
    _token("browserbase", "Browserbase key", H, (rb"bb_live_",), _B + rb"bb_live_[A-Za-z0-9_-]{24,40}" + _A,
           [("browse.ts", "BROWSERBASE_API_KEY='bb_live_{alnum:27}'")],
           source="https://docs.browserbase.com/reference/api/authentication"),
    _named("composio", "Composio key", rb"COMPOSIO_API_KEY", rb"[A-Za-z0-9_-]{20,64}",
           [("agents.env", "COMPOSIO_API_KEY={alnum:24}")],
           source="https://docs.composio.dev (no published format: the conventional name)"),
    _token("context7", "Context7 key", H, (rb"ctx7sk",), _B + rb"ctx7sk[-_][A-Za-z0-9-]{30,64}" + _A,
           [("mcp.json", '{"headers": {"CONTEXT7_API_KEY": "ctx7sk-{hex:8}-{hex:4}-{hex:4}-{hex:4}-{hex:12}"}}')],
           source="https://context7.com/docs (keys start with `ctx7sk`)"),
    # --- Back-end SaaS -------------------------------------------------------------------
    _token("supabase", "Supabase secret key", H, (rb"sb_secret_", rb"sbp_"),
           _B + rb"(?:sb_secret_[A-Za-z0-9_-]{31,64}|sbp_[a-f0-9]{40})" + _A,
           [("server.ts", "createClient(url, 'sb_secret_{alnum:31}')"),
            ("ci.sh", "SUPABASE_ACCESS_TOKEN=sbp_{hex:40}")],
           [("client.ts", "createClient(url, 'sb_publishable_{alnum:31}')")],
           source="https://supabase.com/docs/guides/api/api-keys"),
    _token("stripe", "Stripe or Clerk secret key", H,
           (rb"sk_live_", rb"rk_live_", rb"sk_test_", rb"rk_test_"),
           _B + rb"[rs]k_(?:live|test)_[0-9a-zA-Z]{24,}" + _A,
           [("pay.rb", "Stripe.api_key = 'sk_live_{alnum:24}'"),
            ("middleware.ts", "CLERK_SECRET_KEY=sk_test_{alnum:40}")],
           [("pay.rb", "Stripe.publishable = 'pk_live_{alnum:24}'"),
            (".env.example", "STRIPE_API_KEY=sk_test_asdf")],
           grade=_stripe, source="https://docs.stripe.com/keys; https://clerk.com/docs/deployments/clerk-environment-variables"),
    _token("resend", "Resend key", H, (rb"re_",), _B + rb"re_[A-Za-z0-9]{8}_[A-Za-z0-9]{24}" + _A,
           [("mail.ts", "const resend = new Resend('re_{alnum:8}_{alnum:24}');")],
           [("mail.ts", "const resend = new Resend('re_xxxxxxxxx');")],
           source="https://resend.com/docs/create-an-api-key"),
    _named("resend-named", "Resend key", rb"RESEND_API_KEY", rb"re_[A-Za-z0-9_]{16,64}",
           [("production.env", "RESEND_API_KEY=re_{alnum:30}")],
           source="https://resend.com/docs/create-an-api-key"),
    _token("vercel", "Vercel token", H, (rb"vcp_", rb"vci_", rb"vca_", rb"vcr_", rb"vck_"),
           _B + rb"vc[picrk]_[A-Za-z0-9_-]{56}" + _A,
           [("deploy.sh", "VERCEL_TOKEN=vcp_{alnum:56}")], source=BETTERLEAKS + " vercel-personal-access-token"),
    _named("vercel-legacy", "Vercel token", rb"VERCEL_TOKEN|VERCEL_API_TOKEN", rb"[A-Za-z0-9]{24}",
           [("deploy.sh", "VERCEL_TOKEN={alnum:24}")], source=BETTERLEAKS + " vercel-api-token"),
    _token("netlify", "Netlify token", H, (rb"nfp_",), _B + rb"nfp_[A-Za-z0-9]{36,40}" + _A,
           [("deploy.sh", "NETLIFY_AUTH_TOKEN=nfp_{alnum:36}")],
           source="https://docs.netlify.com/api/get-started/#authentication"),
    _named("netlify-legacy", "Netlify token", rb"NETLIFY_AUTH_TOKEN|NETLIFY_TOKEN",
           rb"[A-Za-z0-9_-]{40,64}", [("deploy.sh", "NETLIFY_AUTH_TOKEN={alnum:43}")],
           source=BETTERLEAKS + " netlify-access-token"),
    _named("cloudflare", "Cloudflare API token", rb"CLOUDFLARE_API_TOKEN|CLOUDFLARE_API_KEY|CF_API_TOKEN",
           rb"[A-Za-z0-9_-]{37,40}", [("wrangler.env", "CLOUDFLARE_API_TOKEN={alnum:40}")],
           source=BETTERLEAKS + " cloudflare-api-key"),
    _named("upstash", "Upstash token", rb"UPSTASH_REDIS_REST_TOKEN|UPSTASH_[A-Z_]*TOKEN",
           rb"[A-Za-z0-9_=-]{40,}", [("production.env", "UPSTASH_REDIS_REST_TOKEN=A{alnum:60}=")],
           source="https://upstash.com/docs/redis/features/restapi (no published format: the conventional name)"),
    _token("neon", "Neon API key", H, (rb"napi_",), _B + rb"napi_[A-Za-z0-9]{64}" + _A,
           [("neon.sh", "NEON_API_KEY=napi_{alnum:64}")], source=BETTERLEAKS + " neon-api-key"),
    _token("planetscale", "PlanetScale token", H, (rb"pscale_tkn_", rb"pscale_pw_", rb"pscale_oauth_"),
           _B + rb"pscale_(?:tkn|pw|oauth)_[A-Za-z0-9_.=-]{32,64}" + _A,
           [("db.sh", "PLANETSCALE_SERVICE_TOKEN=pscale_tkn_{alnum:43}")],
           source=GITLEAKS + " planetscale-api-token"),
    _named("turso", "Turso auth token", rb"TURSO_AUTH_TOKEN|TURSO_API_TOKEN|LIBSQL_AUTH_TOKEN",
           rb"eyJ[A-Za-z0-9_.-]{40,}", [("local.env", "TURSO_AUTH_TOKEN=eyJ{alnum:40}.{alnum:43}")],
           source="https://docs.turso.tech/sdk/authentication (a JWT under its conventional name)"),
    _token("linear", "Linear API key", H, (rb"lin_api_",), _B + rb"lin_api_[A-Za-z0-9]{40}" + _A,
           [("sync.ts", "const linear = new LinearClient({ apiKey: 'lin_api_{alnum:40}' });")],
           source=KINGFISHER + "linear.yml"),
    _token("notion", "Notion token", H, (rb"ntn_",), _B + rb"ntn_[0-9]{11}[A-Za-z0-9]{35}" + _A,
           [("notion.py", 'NOTION_TOKEN = "ntn_{digits:11}{alnum:35}"')],
           source=GITLEAKS + " notion-api-token"),
    _named("notion-legacy", "Notion token", rb"NOTION_(?:API_)?(?:TOKEN|KEY|SECRET)",
           rb"secret_[A-Za-z0-9]{43}", [("notion.py", 'NOTION_TOKEN = "secret_{alnum:43}"')],
           source=KINGFISHER + "notion.yml"),
    _token("posthog", "PostHog personal key", H, (rb"phx_",), _B + rb"phx_[A-Za-z0-9_-]{41,49}" + _A,
           [("analytics.py", 'POSTHOG_PERSONAL_KEY = "phx_{alnum:43}"')],
           [("analytics.ts", "posthog.init('phc_{alnum:43}')")],
           source=BETTERLEAKS + " posthog-personal-api-key"),
    _token("sentry", "Sentry token", H, (rb"sntrys_", rb"sntryu_"),
           _B + rb"(?:sntrys_eyJ[A-Za-z0-9+/=_]{40,400}|sntryu_[a-f0-9]{64})" + _A,
           [("sentry.properties", "auth.token=sntryu_{hex:64}")],
           source="https://docs.sentry.io/account/auth-tokens/"),
    # --- Code hosting, registries, chat ----------------------------------------------------
    _token("github", "GitHub token", H, (rb"gh[pousr]_", rb"github_pat_"),
           _B + rb"(?:github_pat_[A-Za-z0-9_]{22,}|gh[pousr]_[A-Za-z0-9]{36,})" + _A,
           [("ci.yml", "token: {github:ghp}"), ("x.json", '{"t": "github_pat_{alnum:82}"}')],
           [("a.py", 'prefix = "ghp_"'), ("a.py", 'fake = "ghp_{alnum:36}"')],
           grade=lambda t: H if t.startswith(b"github_pat_") or len(t) != 40 else _checksummed(t),
           source="https://github.blog/2021-04-05-behind-githubs-new-authentication-token-formats/"),
    _token("gitlab", "GitLab token", H, (rb"glpat-", rb"glptt-", rb"gldt-", rb"glrt-"),
           _B + rb"gl(?:pat|ptt|dt|rt)-[A-Za-z0-9_-]{20,}",
           [("x.sh", "export GL=glpat-{alnum:20}")],
           source="https://docs.gitlab.com/security/tokens/#token-prefixes"),
    _token("npm", "npm token", H, (rb"npm_",), _B + rb"npm_[A-Za-z0-9]{36}" + _A,
           [(".yarnrc.yml", "npmAuthToken: {npm}")], [(".yarnrc.yml", "npmAuthToken: npm_{alnum:36}")],
           grade=_checksummed,
           source="https://github.blog/2021-09-23-announcing-npms-new-access-token-format/"),
    _token("pypi", "PyPI token", H, (rb"pypi-AgEIcHlwaS5vcmc",),
           rb"pypi-AgEIcHlwaS5vcmc[A-Za-z0-9_-]{50,}",
           [("publish.sh", "TWINE_PASSWORD=pypi-AgEIcHlwaS5vcmc{alnum:70}")],
           source="https://pypi.org/help/#apitoken"),
    _token("slack", "Slack token", H, (rb"xox",),
           _B + rb"xox[abposre]-[0-9]{6,}-[A-Za-z0-9-]{10,}",
           [("bot.py", 'SLACK = "xoxb-{digits:12}-{alnum:24}"')],
           source="https://api.slack.com/concepts/token-types"),
    _token("slack-webhook", "Slack webhook", H, (rb"hooks.slack.com/",),
           rb"https://hooks\.slack\.com/(?:services|workflows|triggers)/T[A-Z0-9]+/[AB][A-Z0-9]+/[A-Za-z0-9]{16,}",
           [("n.yml", "url: https://hooks.slack.com/services/T{upper:8}/B{upper:8}/{alnum:24}")],
           source="https://api.slack.com/messaging/webhooks"),
    _token("discord-webhook", "Discord webhook", H, (rb"discord.com/api/webhooks/",
                                                     rb"discordapp.com/api/webhooks/"),
           rb"https://(?:ptb\.|canary\.)?discord(?:app)?\.com/api/webhooks/\d{17,20}/[A-Za-z0-9_-]{60,}",
           [("alerts.yml", "hook: https://discord.com/api/webhooks/{digits:18}/{alnum:68}")],
           source=KINGFISHER + "discord.yml"),
    _token("discord-bot", "Discord bot token", M, (rb"[MNO][A-Za-z0-9_-]{23,25}\.[A-Za-z0-9_-]{6}\.",),
           _B + rb"[MNO][A-Za-z0-9_-]{23,25}\.[A-Za-z0-9_-]{6}\.[A-Za-z0-9_-]{27,38}" + _A,
           [("bot.js", "client.login('MT{alnum:22}.{alnum:6}.{alnum:38}');")],
           source=KINGFISHER + "discord.yml"),
    _token("telegram", "Telegram bot token", M, (rb"[0-9]{8,10}:AA",),
           rb"\b[0-9]{8,10}:AA[0-9A-Za-z_-]{33}" + _A,
           [("bot.py", 'TOKEN = "{digits:10}:AA{alnum:33}"')], source="https://core.telegram.org/bots/api#authorizing-your-bot"),
    # --- Cloud, mail, payments, messaging --------------------------------------------------
    _token("aws", "AWS access key id", H, (rb"AKIA", rb"ASIA", rb"ABIA", rb"ACCA"),
           # The body is base32 (A-Z, 2-7): a 0, 1, 8 or 9 in it is no AWS key id.
           rb"\b(?:AKIA|ASIA|ABIA|ACCA)[A-Z2-7]{16}\b",
           [("deploy.sh", "AWS_ACCESS_KEY_ID=AKIA{base32:16}")],
           [("docs.md", "AWS_ACCESS_KEY_ID=AKIAIOSFODNN7EXAMPLE"),
            ("notes.txt", "id: AKIA0123456789ABCDEF")],
           source="https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_identifiers.html"),
    _token("azure-storage", "Azure storage account key", H, (rb"AccountKey=",),
           rb"AccountKey=(?P<s>[A-Za-z0-9+/]{86}==)",
           [("app.config", "DefaultEndpointsProtocol=https;AccountName=x;AccountKey={b64:86}==")],
           source="https://learn.microsoft.com/azure/storage/common/storage-configure-connection-string"),
    _token("digitalocean", "DigitalOcean token", H, (rb"dop_v1_", rb"doo_v1_", rb"dor_v1_"),
           _B + rb"do[por]_v1_[a-f0-9]{64}" + _A,
           [("terraform.tfvars", 'do_token = "dop_v1_{hex:64}"')],
           source="https://docs.digitalocean.com/reference/api/create-personal-access-token/"),
    _token("sendgrid", "SendGrid key", H, (rb"SG.",),
           _B + rb"SG\.[A-Za-z0-9_-]{22}\.[A-Za-z0-9_-]{43}" + _A,
           [("mail.py", 'KEY = "SG.{alnum:22}.{alnum:43}"')], source=GITLEAKS + " sendgrid-api-token"),
    _token("mailgun", "Mailgun key", M, (rb"key-[0-9a-f]{32}",), _B + rb"key-[0-9a-f]{32}" + _A,
           [("mail.py", 'MAILGUN_API_KEY = "key-{hex:32}"')], source=GITLEAKS + " mailgun-private-api-token"),
    _named("mailgun-named", "Mailgun key", rb"MAILGUN_API_KEY|MAILGUN_KEY",
           rb"[0-9a-f]{32}-[0-9a-f]{8}-[0-9a-f]{8}", [("production.env", "MAILGUN_API_KEY={hex:32}-{hex:8}-{hex:8}")],
           source=BETTERLEAKS + " mailgun-signing-key"),
    _named("postmark", "Postmark token", rb"POSTMARK_(?:SERVER_|API_|ACCOUNT_)?(?:TOKEN|KEY)",
           rb"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}",
           [("production.env", "POSTMARK_SERVER_TOKEN={uuid}")], source=KINGFISHER + "postmark.yml"),
    _named("pusher", "Pusher secret", rb"PUSHER_(?:APP_)?SECRET", rb"[0-9a-f]{20}",
           [("production.env", "PUSHER_APP_SECRET={hex:20}")],
           source="https://pusher.com/docs/channels/server_api/authenticating-users/ (the conventional name)"),
    _named("twilio-auth", "Twilio auth token", rb"TWILIO_AUTH_TOKEN", rb"[0-9a-f]{32}",
           [("production.env", "TWILIO_AUTH_TOKEN={hex:32}")], source=KINGFISHER + "twilio.yml"),
    _token("twilio", "Twilio API key", M, (rb"SK[0-9a-fA-F]{32}",),
           rb"\bSK[0-9a-fA-F]{32}\b", [("sms.py", 'TWILIO_KEY = "SK{hex:32}"')],
           source=KINGFISHER + "twilio.yml"),
    _named("algolia-admin", "Algolia admin key", rb"ALGOLIA_(?:ADMIN|WRITE)_(?:API_)?KEY", rb"[a-f0-9]{32}",
           [("production.env", "ALGOLIA_ADMIN_KEY={hex:32}")],
           [("production.env", "NEXT_PUBLIC_ALGOLIA_APP_ID={upper:10}")], source=BETTERLEAKS + " algolia-api-key"),
    _token("mapbox", "Mapbox secret token", H, (rb"sk.eyJ",),
           _B + rb"sk\.eyJ[A-Za-z0-9_-]{20,}\.[A-Za-z0-9_-]{20,}" + _A,
           [("tiles.sh", "MAPBOX_SECRET=sk.eyJ{alnum:60}.{alnum:22}")],
           [("map.ts", "mapboxgl.accessToken = 'pk.eyJ{alnum:60}.{alnum:22}';")],
           source="https://docs.mapbox.com/accounts/guides/tokens/"),
    _token("shopify", "Shopify token", H, (rb"shpat_", rb"shpss_", rb"shpca_", rb"shppa_"),
           _B + rb"shp(?:at|ss|ca|pa)_[a-fA-F0-9]{32}" + _A,
           [("shop.env.txt", "SHOPIFY_TOKEN=shpat_{hex:32}"),
            ("shop.json", '{"secret": "shpss_{hex:32}"}')],
           source="https://shopify.dev/docs/apps/build/authentication-authorization/access-tokens"),
    _token("square", "Square token", H, (rb"sq0csp-", rb"sq0atp-", rb"EAAA"),
           _B + rb"(?:sq0csp-[A-Za-z0-9_-]{43}|sq0atp-[A-Za-z0-9_-]{22}|EAAA[A-Za-z0-9_-]{60})" + _A,
           [("pay.py", 'SQUARE = "sq0csp-{alnum:43}"')], source=GITLEAKS + " square-access-token"),
    _token("mailchimp", "Mailchimp key", M, (rb"[0-9a-f]{32}-us[0-9]",),
           rb"\b[0-9a-f]{32}-us[0-9]{1,2}\b", [("mail.py", 'KEY = "{hex:32}-us12"')],
           source=GITLEAKS + " mailchimp-api-key"),
]
