"""The CI recipes under examples/ (issue 13): each file is loaded as YAML and held to what the README
promises of it, against the options and settings the plugin really has (its ``pytest --help``), and
each recipe's own pytest command gates a real hardened server to ALLOWED.

A recipe is copied into pipelines as it stands, so a renamed option, a missing permission or an
upload that skips failed runs would break every pipeline that copied it: these tests fail instead.
"""

from __future__ import annotations

import json
import re
import shlex
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable, Optional

import boto3
import jsonschema
import pytest
import yaml

from pytest_aurora_guard.evidence.document import SCHEMA_PATH
from tests.moto_server import moto_server

ROOT = Path(__file__).resolve().parent.parent
SARIF_SCHEMA = json.loads((ROOT / "tests" / "data" / "sarif-schema-2.1.0.json").read_text())  # OASIS, see .source
EXAMPLES = ROOT / "examples"
RECIPES = ("github-actions.yml", "buildspec.yml", "gitlab-ci.yml")


# --- reading a recipe -------------------------------------------------------------------------


@dataclass(frozen=True)
class Script:
    """One shell script of a recipe (a GitHub ``run:``, a CodeBuild or GitLab command) and where it is."""

    where: str
    text: str


@dataclass(frozen=True)
class PytestCommand:
    """The arguments one pytest invocation of a recipe passes, after ``python -m pytest``."""

    where: str
    args: tuple[str, ...]

    @property
    def options(self) -> tuple[str, ...]:
        return tuple(option_name(arg) for arg in self.args if arg.startswith("-"))

    def value(self, flag: str) -> Optional[str]:
        """The value given to ``flag`` (``--flag=VALUE`` or ``--flag VALUE``), None when absent."""
        for index, arg in enumerate(self.args):
            if arg.startswith(f"{flag}="):
                return arg.split("=", 1)[1]
            if arg == flag and index + 1 < len(self.args):
                return self.args[index + 1]
        return None


def option_name(arg: str) -> str:
    """``--aurora-report=x`` -> ``--aurora-report``; ``-ra`` -> ``-r`` (argparse reads the rest as the value)."""
    if arg.startswith("--"):
        return arg.split("=", 1)[0]
    return arg[:2]


_SEPARATORS = {"&&", "||", ";", "|", "&"}


def shell_commands(script: str) -> list[list[str]]:
    """The simple commands of a shell script as words: continuation lines joined, comments dropped."""
    commands: list[list[str]] = []
    for line in script.replace("\\\n", " ").splitlines():
        lexer = shlex.shlex(line, posix=True, punctuation_chars=True)
        lexer.whitespace_split = True
        current: list[str] = []
        for word in lexer:
            if word in _SEPARATORS:
                commands.append(current)
                current = []
            else:
                current.append(word)
        commands.append(current)
    return [command for command in commands if command]


def pytest_arguments(words: list[str]) -> Optional[tuple[str, ...]]:
    """What follows ``pytest`` / ``python -m pytest`` in a command, None when it does not run pytest."""
    if Path(words[0]).name == "pytest":
        return tuple(words[1:])
    if Path(words[0]).name.startswith("python") and words[1:3] == ["-m", "pytest"]:
        return tuple(words[3:])
    return None


def _lines(value: Any) -> list[str]:
    """A YAML command list (strings, or nested lists GitLab allows) as strings."""
    if isinstance(value, str):
        return [value]
    if isinstance(value, list):
        return [line for entry in value for line in _lines(entry)]
    return []


def github_scripts(workflow: Mapping[str, Any]) -> Iterator[Script]:
    for job_name, job in workflow["jobs"].items():
        for index, step in enumerate(job["steps"]):
            if "run" in step:
                yield Script(f"jobs.{job_name}.steps[{index}]", step["run"])


def codebuild_scripts(buildspec: Mapping[str, Any]) -> Iterator[Script]:
    for phase_name, phase in buildspec["phases"].items():
        for block in ("commands", "finally"):
            for index, line in enumerate(_lines(phase.get(block))):
                yield Script(f"phases.{phase_name}.{block}[{index}]", line)


_GITLAB_SCRIPT_KEYS = ("before_script", "script", "after_script")


def gitlab_scripts(pipeline: Mapping[str, Any]) -> Iterator[Script]:
    for job_name, job in pipeline.items():
        if isinstance(job, Mapping) and "script" in job:
            for key in _GITLAB_SCRIPT_KEYS:
                for index, line in enumerate(_lines(job.get(key))):
                    yield Script(f"{job_name}.{key}[{index}]", line)


SCRIPTS_OF: dict[str, Callable[[Mapping[str, Any]], Iterator[Script]]] = {
    "github-actions.yml": github_scripts,
    "buildspec.yml": codebuild_scripts,
    "gitlab-ci.yml": gitlab_scripts,
}


@dataclass(frozen=True)
class Recipe:
    name: str
    text: str
    tree: Any
    scripts: tuple[Script, ...]

    def pytest_commands(self) -> list[PytestCommand]:
        found = []
        for script in self.scripts:
            for words in shell_commands(script.text):
                args = pytest_arguments(words)
                if args is not None:
                    found.append(PytestCommand(f"{self.name} {script.where}", args))
        return found

    def gate(self) -> PytestCommand:
        """The one pytest command the recipe exists for."""
        (command,) = self.pytest_commands()
        return command

    def commands_in(self, where_prefix: str) -> list[list[str]]:
        return [words for script in self.scripts if script.where.startswith(where_prefix)
                for words in shell_commands(script.text)]


def load_recipe(name: str) -> Recipe:
    text = (EXAMPLES / name).read_text()
    tree = yaml.safe_load(text)
    return Recipe(name, text, tree, tuple(SCRIPTS_OF[name](tree)))


# --- what the plugin really offers: its --help -------------------------------------------------


@dataclass(frozen=True)
class HelpText:
    text: str

    @property
    def options(self) -> frozenset[str]:
        """Every option ``pytest --help`` lists (``-m``, ``--junit-xml``, ``--aurora-require``, ...)."""
        names = set()
        for line in self.text.splitlines():
            # Option lines are indented by exactly two spaces; their wrapped help text by many more.
            match = re.match(r"^  (-\S.*?)(?:\s{2,}|$)", line)
            if match:
                for spelling in match.group(1).split(", "):
                    names.add(spelling.split("=", 1)[0].split(" ", 1)[0])
        return frozenset(names)

    @property
    def environment_settings(self) -> frozenset[str]:
        """The ``AURORA_GUARD_*`` variables the options' help names as their mirrors (``[env X, ...]``)."""
        return frozenset(re.findall(r"\[env\s+(AURORA_GUARD_[A-Z0-9_]+)", self.text))


@pytest.fixture
def plugin_help(pytester: pytest.Pytester) -> HelpText:
    result = pytester.runpytest("--help")
    assert result.ret == pytest.ExitCode.OK
    return HelpText(result.stdout.str())


def unknown_options(command: PytestCommand, known: frozenset[str]) -> list[str]:
    return [f"{command.where}: {option} is not an option of pytest with this plugin"
            for option in command.options if option not in known]


# --- secrets ----------------------------------------------------------------------------------

# Names whose value is a credential. A *_TOKEN_FILE, a secret's ARN or id names where one is, which is fine.
# (GitHub's ``id-token: write`` is a permission, not a token: only NAME_TOKEN style names count.)
_SECRET_NAME = re.compile(r"(?i)passw(or)?d|secret[_-]access[_-]key|session[_-]token|(^|_)token$|api[_-]?key")
# A value that refers to a credential kept elsewhere: ${{ secrets.X }} in YAML; $X or ${X} in YAML or shell
# (a GitHub expression inside a shell script is substituted into its text, so there it does not count).
_REFERENCE = re.compile(r"^\$(\{\{\s*secrets\.\w+\s*\}\}|\{\w+\}|\w+)$")
_SHELL_REFERENCE = re.compile(r"^\$(\{\w+\}|\w+)$")
_AWS_ACCESS_KEY_ID = re.compile(r"\b(AKIA|ASIA)[0-9A-Z]{16}\b")


def _walk(tree: Any, path: str = "") -> Iterator[tuple[str, str, Any]]:
    if isinstance(tree, Mapping):
        for key, value in tree.items():
            yield path, str(key), value
            yield from _walk(value, f"{path}.{key}" if path else str(key))
    elif isinstance(tree, list):
        for index, value in enumerate(tree):
            yield from _walk(value, f"{path}[{index}]")


def secret_literals(text: str, tree: Any, scripts: tuple[Script, ...]) -> list[str]:
    """Every credential written into a recipe as a value (the value itself is never repeated)."""
    problems = []
    for path, key, value in _walk(tree):
        if _SECRET_NAME.search(key) and isinstance(value, (str, int, float)) and not _REFERENCE.match(str(value)):
            problems.append(f"{path}.{key} is set to a literal credential")
    for script in scripts:
        for words in shell_commands(script.text):
            for index, word in enumerate(words):
                name, equals, value = word.partition("=")
                if not equals and name.startswith("--") and index + 1 < len(words):
                    value = words[index + 1]
                elif not equals:
                    continue
                if _SECRET_NAME.search(name.lstrip("-")) and not _SHELL_REFERENCE.match(value):
                    problems.append(f"{script.where}: {name} is given a literal credential")
    if _AWS_ACCESS_KEY_ID.search(text):
        problems.append("an AWS access key id is written in the file")
    return problems


# --- every recipe -----------------------------------------------------------------------------


@pytest.fixture(params=RECIPES)
def recipe(request: pytest.FixtureRequest) -> Recipe:
    return load_recipe(request.param)


def test_each_recipe_runs_the_gate_with_exactly_one_pytest_command(recipe):
    assert len(recipe.pytest_commands()) == 1, recipe.pytest_commands()


def test_every_option_a_recipe_gives_pytest_is_one_pytest_help_lists(recipe, plugin_help):
    assert unknown_options(recipe.gate(), plugin_help.options) == []


def test_every_pytest_command_of_a_recipe_is_required_mode(recipe):
    for command in recipe.pytest_commands():
        assert "--aurora-require" in command.options, command.where


def test_no_recipe_rewrites_the_baselines(recipe):
    # Accepting AWS's change in a pipeline skips the review the drift gate exists for (README, "Not in CI").
    assert "--update-cipher-baseline" not in recipe.text
    assert "--aurora-allow-update-in-ci" not in recipe.text


def test_every_aurora_guard_variable_a_recipe_names_is_a_setting(recipe, plugin_help):
    # An unknown AURORA_GUARD_* variable is a usage error at run time: catch it before anyone copies it.
    named = set(re.findall(r"AURORA_GUARD_[A-Z0-9_]+", recipe.text))
    assert named <= plugin_help.environment_settings, named - plugin_help.environment_settings


def test_no_recipe_holds_a_credential(recipe):
    assert secret_literals(recipe.text, recipe.tree, recipe.scripts) == []


def test_every_gate_writes_the_json_report_and_junit(recipe):
    report = recipe.gate().value("--aurora-report")
    assert report is not None, recipe.gate().args
    assert report.endswith(".json"), report
    assert recipe.gate().value("--junit-xml") is not None, recipe.gate().args


# --- GitHub Actions ---------------------------------------------------------------------------


@pytest.fixture
def github() -> Recipe:
    return load_recipe("github-actions.yml")


def _gate_job(recipe: Recipe) -> tuple[dict[str, Any], list[dict[str, Any]], int]:
    """The job that runs the gate, its steps, and the index of the gate's step."""
    job_name, step_index = re.match(r"jobs\.(.+)\.steps\[(\d+)\]", recipe.gate().where.split(" ", 1)[1]).groups()
    job = recipe.tree["jobs"][job_name]
    return job, job["steps"], int(step_index)


def _permissions(recipe: Recipe) -> dict[str, str]:
    job, _, _ = _gate_job(recipe)
    # A job's permissions replace the workflow's entirely; they are not merged.
    return dict(job.get("permissions", recipe.tree.get("permissions")) or {})


def _steps_using(steps: list[dict[str, Any]], action: str) -> list[tuple[int, dict[str, Any]]]:
    return [(index, step) for index, step in enumerate(steps) if str(step.get("uses", "")).startswith(f"{action}@")]


def test_the_workflow_assumes_an_aws_role_through_oidc_before_the_gate(github):
    assert _permissions(github).get("id-token") == "write"
    assert _permissions(github).get("contents") == "read"
    _, steps, gate = _gate_job(github)
    ((index, step),) = _steps_using(steps, "aws-actions/configure-aws-credentials")
    assert index < gate
    assert step["with"]["role-to-assume"].startswith("arn:aws:iam::")
    assert not {"aws-access-key-id", "aws-secret-access-key"} & set(step["with"])


def test_the_workflow_keeps_the_report_markdown_and_junit_whatever_the_gate_decided(github):
    _, steps, gate = _gate_job(github)
    uploads = _steps_using(steps, "actions/upload-artifact")
    assert uploads, "no actions/upload-artifact step"
    report = github.gate().value("--aurora-report")
    assert report is not None
    wanted = {report, report.removesuffix(".json") + ".md", github.gate().value("--junit-xml"),
              github.gate().value("--aurora-sarif")} - {None}
    uploaded = {path for index, step in uploads if index > gate and "always()" in str(step.get("if", ""))
                for path in step["with"]["path"].split()}
    assert wanted <= uploaded, f"not uploaded after the gate with if: always(): {wanted - uploaded}"


def test_sarif_is_written_and_uploaded_together_with_its_permission_even_when_the_gate_fails(github):
    _, steps, gate = _gate_job(github)
    sarif = github.gate().value("--aurora-sarif")
    uploads = _steps_using(steps, "github/codeql-action/upload-sarif")
    assert (sarif is None) == (not uploads), "--aurora-sarif and an upload-sarif step go together"
    for index, step in uploads:
        assert index > gate
        assert "always()" in str(step.get("if", ""))
        assert step["with"]["sarif_file"] == sarif
        assert _permissions(github).get("security-events") == "write"


# --- AWS CodeBuild ----------------------------------------------------------------------------


@pytest.fixture
def codebuild() -> Recipe:
    return load_recipe("buildspec.yml")


def test_the_codebuild_report_group_reads_the_gates_junit_file_as_junitxml(codebuild):
    junit = codebuild.gate().value("--junit-xml")
    groups = codebuild.tree["reports"].values()
    read = [group for group in groups if group["file-format"] == "JUNITXML"
            and junit in {str(Path(group.get("base-directory", ".")) / name) for name in group["files"]}]
    assert read, f"no JUNITXML report group reads {junit}"


def test_codebuild_copies_the_json_report_to_s3_in_the_gates_finally_block(codebuild):
    # finally runs after the phase's commands whether they failed or not: a blocked promotion is kept too.
    report = codebuild.gate().value("--aurora-report")
    phase = codebuild.gate().where.split(" ", 1)[1].split(".")[1]
    copies = [words for words in codebuild.commands_in(f"phases.{phase}.finally")
              if words[:3] == ["aws", "s3", "cp"] and words[3] == report and words[4].startswith("s3://")]
    assert copies, f"no 'aws s3 cp {report} s3://...' in phases.{phase}.finally"


# --- GitLab CI --------------------------------------------------------------------------------


def test_gitlab_keeps_the_junit_report_and_the_evidence_when_the_job_fails():
    gitlab = load_recipe("gitlab-ci.yml")
    job = gitlab.tree[gitlab.gate().where.split(" ", 1)[1].split(".")[0]]
    report = gitlab.gate().value("--aurora-report")
    assert report is not None
    assert job["artifacts"]["when"] == "always"
    assert job["artifacts"]["reports"]["junit"] == gitlab.gate().value("--junit-xml")
    assert {report, report.removesuffix(".json") + ".md"} <= set(job["artifacts"]["paths"])


# --- the README -------------------------------------------------------------------------------


def _readme_recipe_excerpts() -> list[tuple[str, str]]:
    """(examples file, code block) for each YAML block of the README's "Pipeline recipes" section,
    the file being the last ``examples/...`` path the section names before the block."""
    readme = (ROOT / "README.md").read_text()
    section = re.search(r"^## Pipeline recipes\n(.*?)(?=^## )", readme, re.S | re.M)
    assert section is not None, "README.md has no '## Pipeline recipes' section"
    excerpts = []
    for block in re.finditer(r"```yaml\n(.*?)```", section.group(1), re.S):
        named = re.findall(r"examples/([\w.-]+\.yml)", section.group(1)[:block.start()])
        assert named, "a YAML block of 'Pipeline recipes' comes before any examples/ file is named"
        excerpts.append((named[-1], block.group(1)))
    return excerpts


def test_the_readme_shows_an_excerpt_of_every_recipe():
    assert {name for name, _ in _readme_recipe_excerpts()} == set(RECIPES)


@pytest.mark.parametrize(("name", "excerpt"), _readme_recipe_excerpts())
def test_each_readme_recipe_excerpt_is_the_files_own_text(name, excerpt):
    assert excerpt in (EXAMPLES / name).read_text(), f"the README's excerpt of examples/{name} differs from the file"


# --- the checks above catch what they are for -------------------------------------------------


class TestTheCheckersCatchBadRecipes:
    def test_a_password_written_as_a_yaml_value_is_found_and_not_repeated(self):
        tree = yaml.safe_load("variables:\n  AURORA_GUARD_PASSWORD: hunter2-42\n")
        problems = secret_literals("", tree, ())
        assert problems == ["variables.AURORA_GUARD_PASSWORD is set to a literal credential"]
        assert "hunter2-42" not in str(problems)

    @pytest.mark.parametrize("line", ["pytest --aurora-password=hunter2-42", "pytest --aurora-password hunter2-42",
                                      "PGPASSWORD=hunter2-42 psql"])
    def test_a_password_on_a_command_line_is_found(self, line):
        assert len(secret_literals(line, None, (Script("run", line),))) == 1

    @pytest.mark.parametrize("value", ["${{ secrets.DB_PASSWORD }}", "$DB_PASSWORD", "${DB_PASSWORD}"])
    def test_a_yaml_reference_to_a_secret_kept_elsewhere_is_not_a_literal(self, value):
        assert secret_literals("", {"env": {"AURORA_GUARD_PASSWORD": value}}, ()) == []

    @pytest.mark.parametrize("value", ["$DB_PASSWORD", "${DB_PASSWORD}"])
    def test_a_shell_variable_holding_a_secret_is_not_a_literal(self, value):
        assert secret_literals("", None, (Script("run", f"PGPASSWORD={value} psql --aurora-password {value}"),)) == []

    def test_a_github_expression_inside_a_shell_script_counts_as_its_value(self):
        line = "PGPASSWORD=${{ secrets.DB_PASSWORD }} psql"
        assert len(secret_literals(line, None, (Script("run", line),))) == 1

    def test_an_aws_access_key_id_is_found(self):
        assert secret_literals("key: AKIAIOSFODNN7EXAMPLE", None, ()) == ["an AWS access key id is written in the file"]

    def test_a_misspelt_option_is_unknown(self, plugin_help):
        command = PytestCommand("run", ("--aurora-require", "--aurora-endpoints=db:5432", "-m", "aurora_guard"))
        assert unknown_options(command, plugin_help.options) == [
            "run: --aurora-endpoints is not an option of pytest with this plugin"]

    def test_the_help_lists_short_long_and_plugin_options_but_not_words_of_help_text(self, plugin_help):
        assert {"-m", "-p", "--junit-xml", "--aurora-require", "--cipher-baseline-dir"} <= plugin_help.options
        # --help prints --junit-xml only, folding its --junitxml alias away: the recipes use what it prints.
        assert "--junitxml" not in plugin_help.options
        assert all(option.startswith("-") for option in plugin_help.options)

    def test_the_help_lists_the_environment_mirrors(self, plugin_help):
        assert {"AURORA_GUARD_ENDPOINT", "AURORA_GUARD_REQUIRE"} <= plugin_help.environment_settings
        assert "AURORA_GUARD_ENDPOINTS" not in plugin_help.environment_settings

    @pytest.mark.parametrize(("script", "expected"), [
        (".venv/bin/python -m pytest -m aurora_guard --aurora-require \\\n  --junit-xml=j.xml",
         ("-m", "aurora_guard", "--aurora-require", "--junit-xml=j.xml")),
        ("mkdir -p r && pytest -q # --aurora-require is missing", ("-q",)),
        ("python -m pip install pytest", None),
    ])
    def test_a_pytest_command_is_read_from_a_script(self, script, expected):
        found = [pytest_arguments(words) for words in shell_commands(script)]
        assert expected in found
        assert len([args for args in found if args is not None]) == (expected is not None)


# --- the recipes' own command against a real server -------------------------------------------


@pytest.fixture
def probe_secret(monkeypatch: pytest.MonkeyPatch, tmp_path: Path, pg_hardened) -> Iterator[str]:
    """The hardened server's probe account in moto's Secrets Manager, as the recipes read it; yields its ARN."""
    monkeypatch.setenv("AWS_REGION", "us-east-1")
    with moto_server(monkeypatch, tmp_path) as url:
        monkeypatch.setenv("AWS_ENDPOINT_URL_SECRETS_MANAGER", url)
        client = boto3.client("secretsmanager", region_name="us-east-1")
        value = {"username": pg_hardened.user, "password": pg_hardened.password, "dbname": pg_hardened.database}
        yield str(client.create_secret(Name="prod/guard-probe", SecretString=json.dumps(value))["ARN"])


def test_each_recipes_own_command_gates_a_hardened_server_to_allowed_and_writes_what_it_uploads(
    recipe, run_guard, pytester, pg_hardened, ca_bundle, probe_secret, monkeypatch
):
    summary = pytester.path / "step-summary.md"
    monkeypatch.setenv("GITHUB_STEP_SUMMARY", str(summary))  # as GitHub sets it; the others ignore it
    local = {"--aurora-endpoint": pg_hardened.endpoint, "--aurora-ca-bundle": str(ca_bundle),
             "--aurora-secret-id": probe_secret}
    args = [f"{option_name(arg)}={local[option_name(arg)]}" if option_name(arg) in local else arg
            for arg in recipe.gate().args]
    outputs = [recipe.gate().value(flag) for flag in ("--aurora-report", "--junit-xml", "--aurora-sarif")]
    for output in filter(None, outputs):
        (pytester.path / output).parent.mkdir(parents=True, exist_ok=True)  # the recipe's own mkdir -p
    run = run_guard(*args)
    assert run.result.ret == pytest.ExitCode.OK, run.output
    assert "aurora-guard: promotion ALLOWED" in run.output
    report = json.loads((pytester.path / str(outputs[0])).read_text())
    jsonschema.validate(report, json.loads(SCHEMA_PATH.read_text()))
    assert report["decision"]["promotion"] == "allowed"
    assert run.outcome_of("driver_verified_session") == "passed"  # the probe account came from the secret
    assert (pytester.path / str(outputs[0])).with_suffix(".md").is_file()
    assert "<testcase" in (pytester.path / str(outputs[1])).read_text()
    if outputs[2] is not None:
        jsonschema.validate(json.loads((pytester.path / outputs[2]).read_text()), SARIF_SCHEMA)
    assert summary.read_text().strip(), "nothing reached GITHUB_STEP_SUMMARY"
