using Microsoft.Extensions.Options;
using Observability.AspNetCore.Core;

namespace Observability.AspNetCore.SlowQueries;

/// <summary>Validates <c>Observability:SlowQueries</c> at startup, naming the key and the bad value.</summary>
internal sealed class SlowQueryOptionsValidator : IValidateOptions<ObservabilityOptions>
{
    public ValidateOptionsResult Validate(string? name, ObservabilityOptions options)
    {
        var failures = new ValidateOptionsResultBuilder();
        var queries = options.SlowQueries;
        if (queries.ThresholdMs < 0)
        {
            failures.AddError($"Observability:SlowQueries:ThresholdMs must be >= 0 (0 disables); was {queries.ThresholdMs}.");
        }

        if (queries.MaxCommandTextLength < 1)
        {
            failures.AddError($"Observability:SlowQueries:MaxCommandTextLength must be >= 1; was {queries.MaxCommandTextLength}.");
        }

        // 1 would call every command that ran once "repeated".
        if (queries.RepeatedQueryThreshold is < 0 or 1)
        {
            failures.AddError($"Observability:SlowQueries:RepeatedQueryThreshold must be 0 (disables) or >= 2; was {queries.RepeatedQueryThreshold}.");
        }

        if (queries.MaxWarningsPerSecond is < 1 or > WarningBudget.MaxRingSize)
        {
            failures.AddError($"Observability:SlowQueries:MaxWarningsPerSecond must be between 1 and {WarningBudget.MaxRingSize}; was {queries.MaxWarningsPerSecond}.");
        }

        return failures.Build();
    }
}
