using Observability.AspNetCore;

namespace Observability.SampleApi.Jobs;

/// <summary>One queued job: its kind and the request that enqueued it (its ID and trace context).</summary>
internal sealed record SampleJob(string Kind, JobOrigin Origin)
{
    /// <summary>The kinds <c>POST /api/jobs/{kind}</c> takes, each showing one thing the job observability reports.</summary>
    public static readonly IReadOnlyList<string> Kinds = ["fast", "slow", "fail", "hang"];
}
