"""AWS CodePipeline: the job API client, artifacts, and the job runner.

``results`` puts exactly one result on a job; ``artifacts`` fetches and
safely unpacks the input artifact and writes the output one; the job runner
runs pytest with the gate in a child process for one job; ``lambda_handler``
(an Invoke action) and ``worker`` (a custom action's job worker) configure
it. ``action_type`` registers the custom action type, ``publish`` is
``releasegate publish``. boto3 is imported only when one of them runs.
"""
