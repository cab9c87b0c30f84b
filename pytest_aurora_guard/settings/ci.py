"""Is this run in CI? Baseline updates must not pass unreviewed in a pipeline.

The variables are the ones the common CI services set on every job (their documentation names
them): GitHub Actions, GitLab CI, AWS CodeBuild, Buildkite, Jenkins, Azure Pipelines (TF_BUILD),
CircleCI, Travis CI, Bitbucket Pipelines, TeamCity, Drone, Woodpecker, AppVeyor, Semaphore,
Bamboo, and the generic CI / CONTINUOUS_INTEGRATION that most of them also set.
"""

from __future__ import annotations

from collections.abc import Mapping

CI_VARIABLES = (
    "CI",
    "CONTINUOUS_INTEGRATION",
    "GITHUB_ACTIONS",
    "GITLAB_CI",
    "CODEBUILD_BUILD_ID",
    "BUILDKITE",
    "JENKINS_URL",
    "TF_BUILD",
    "CIRCLECI",
    "TRAVIS",
    "BITBUCKET_BUILD_NUMBER",
    "TEAMCITY_VERSION",
    "DRONE",
    "CI_PIPELINE_ID",
    "APPVEYOR",
    "SEMAPHORE",
    "bamboo_buildKey",
)


def ci_markers(environ: Mapping[str, str]) -> list[str]:
    """``NAME=value`` for each CI variable set to anything but an empty string.

    Any value counts, ``CI=false`` included: failing closed, an explicit "false" is still a
    sign of a pipeline somebody configured, and the override flag exists for the rare case.
    """
    return [f"{name}={environ[name]}" for name in CI_VARIABLES if environ.get(name, "").strip()]
