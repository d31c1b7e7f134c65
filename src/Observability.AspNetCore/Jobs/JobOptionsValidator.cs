using Microsoft.Extensions.Options;

namespace Observability.AspNetCore.Jobs;

/// <summary>Validates <c>Observability:Jobs</c> at startup, naming the key and the bad value.</summary>
internal sealed class JobOptionsValidator : IValidateOptions<ObservabilityOptions>
{
    public ValidateOptionsResult Validate(string? name, ObservabilityOptions options)
    {
        var jobs = options.Jobs;
        var failures = new ValidateOptionsResultBuilder();
        if (jobs.SlowThresholdMs < 0)
        {
            failures.AddError($"Observability:Jobs:SlowThresholdMs must be >= 0 (0 turns the check off); was {jobs.SlowThresholdMs}.");
        }

        if (jobs.MaxJobNames < 1)
        {
            failures.AddError($"Observability:Jobs:MaxJobNames must be at least 1; was {jobs.MaxJobNames}.");
        }

        var seen = new HashSet<string>(StringComparer.Ordinal);
        for (var i = 0; i < (jobs.Jobs?.Count ?? 0); i++)
        {
            var job = jobs.Jobs![i];
            if (string.IsNullOrWhiteSpace(job.Name))
            {
                failures.AddError($"Observability:Jobs:Jobs:{i}:Name must name a job; was '{job.Name}'.");
            }
            else if (!seen.Add(job.Name))
            {
                failures.AddError($"Observability:Jobs:Jobs:{i}:Name names job '{job.Name}' a second time.");
            }

            if (job.SlowThresholdMs < 0)
            {
                failures.AddError($"Observability:Jobs:Jobs:{i}:SlowThresholdMs must be >= 0 (0 turns the check off); was {job.SlowThresholdMs}.");
            }
        }

        return failures.Build();
    }
}
