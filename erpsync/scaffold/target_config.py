"""The erpsync.yaml ``erpsync init --adapter NAME --url URL`` writes: one target for the
ERP being adopted, and the settings of the sample configuration.

The URL's password never reaches the file: it is replaced by ``${ERPSYNC_<ADAPTER>_PASSWORD}``,
which erpsync reads from the environment (percent-encoding it into the URL), so the file
can be committed as it is. A URL carrying a secret elsewhere (a ``password=`` query
parameter) is refused with a message saying where to put it instead.
"""

from __future__ import annotations

from dataclasses import dataclass
from importlib import resources

from sqlalchemy import make_url
from sqlalchemy.exc import ArgumentError

from erpsync import secrets
from erpsync.errors import UsageError
from erpsync.i18n import N_

_MARK = "ERPSYNCPASSWORDPLACEHOLDER"

DEFAULT_URLS = {
    "reference": "sqlite:///erp.db",
    "ruoyi": "mysql+pymysql://erpsync@localhost/ry",
    "ruoyi-vue-pro": "mysql+pymysql://erpsync@localhost/ruoyi-vue-pro",
    "jsherp": "mysql+pymysql://erpsync@localhost/jsh_erp",
    "tryton": "postgresql+psycopg://erpsync@localhost/tryton",
}


def _settings() -> str:
    """The ``settings:`` section of the sample erpsync.yaml, comments included."""
    sample = resources.files(__package__).joinpath("templates", "erpsync.yaml").read_text("utf-8")
    return sample[sample.index("\nsettings:") + 1 :]


@dataclass(frozen=True)
class TargetConfig:
    adapter: str
    text: str  # erpsync.yaml
    password_variable: str | None  # the variable to export before connecting, if any

    @property
    def samples(self) -> bool:
        """Whether the sample policy fits: it is written in the reference ERP's words."""
        return self.adapter == "reference"


def password_variable(adapter: str) -> str:
    return f"ERPSYNC_{adapter.upper().replace('-', '_')}_PASSWORD"  # a shell name: no '-'


def target_config(adapter: str, url: str | None) -> TargetConfig:
    """erpsync.yaml with one target named after ``adapter`` at ``url`` (without its
    password); :class:`UsageError` for a URL that is none or carries a secret elsewhere."""
    written, variable = _url_for_file(adapter, url) if url else (DEFAULT_URLS[adapter], None)
    text = (
        "# erpsync project configuration: where the policies are and which ERP they describe.\n"
        "# Values may read the environment: ${VAR} or ${VAR:-default}; keep passwords out of git.\n"
        "policies: policies/\n"
        "\n"
        "targets:\n"
        f"  {adapter}:\n"
        f"    adapter: {adapter}\n"
        f"    url: {written}\n"
        "\n"
        "# The target the commands and the CI workflows use. In CI the workflows pass the\n"
        "# database URL from a repository secret with --db, which overrides this url.\n"
        f"default_target: {adapter}\n"
        "\n" + _settings()
    )
    return TargetConfig(adapter, text, variable)


def _url_for_file(adapter: str, url: str) -> tuple[str, str | None]:
    shown = secrets.redact_url(url)
    try:
        parsed = make_url(url)
    except (ArgumentError, ValueError):
        raise UsageError(
            N_("--url {url}: not a database URL (e.g. {example})").format(
                url=shown, example=DEFAULT_URLS[adapter]
            )
        ) from None
    if parsed.host and "@" in parsed.host:  # part of the password would be written
        raise UsageError(
            N_(
                "--url {url}: the password holds an '@' that is not percent-encoded; write it "
                "as %40"
            ).format(url=shown)
        )
    if any(secrets.is_secret_parameter(name) for name in parsed.query):
        raise UsageError(
            N_(
                "--url {url}: a secret in the query would be written to erpsync.yaml; give the "
                "password in the URL (user:PASSWORD@host): init replaces it with an environment "
                "variable"
            ).format(url=shown)
        )
    variable = None
    if parsed.password is not None:
        variable = password_variable(adapter)
        parsed = parsed.set(password=_MARK)
    text = parsed.render_as_string(hide_password=False).replace("$", "$$")
    if variable is not None:
        text = text.replace(_MARK, "${" + variable + "}")
    if any(ch in text for ch in "#'\"\n") or text.startswith(("{", "[", "&", "*", "!", "|", ">")):
        raise UsageError(
            N_("--url {url}: write it into erpsync.yaml by hand (quoted)").format(url=shown)
        )
    return text, variable
