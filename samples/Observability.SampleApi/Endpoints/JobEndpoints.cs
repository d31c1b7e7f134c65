using Microsoft.AspNetCore.Http.HttpResults;
using Observability.AspNetCore;
using Observability.SampleApi.Jobs;

namespace Observability.SampleApi.Endpoints;

/// <summary><c>POST /api/jobs/{kind}</c>: enqueues one background job for the sample's worker.</summary>
internal static class JobEndpoints
{
    public static void MapJobs(this IEndpointRouteBuilder api) => api.MapPost("/jobs/{kind}", Enqueue);

    private static async Task<Results<Accepted<EnqueuedJob>, ValidationProblem, ProblemHttpResult>> Enqueue(string kind, ISampleJobQueue queue, IJobRunner jobs, CancellationToken cancellationToken)
    {
        if (!SampleJob.Kinds.Contains(kind))
        {
            return TypedResults.ValidationProblem(new Dictionary<string, string[]>
            {
                ["kind"] = [$"Unknown job kind '{kind}'; one of {string.Join(", ", SampleJob.Kinds)}."],
            });
        }

        // The origin goes with the job, so the worker's events carry this request's ID.
        return await queue.TryEnqueueAsync(new SampleJob(kind, jobs.CaptureOrigin()), cancellationToken)
            ? TypedResults.Accepted((string?)null, new EnqueuedJob(kind, queue.Name))
            : TypedResults.Problem("The job queue is full or cannot be reached.", statusCode: StatusCodes.Status503ServiceUnavailable);
    }

    internal sealed record EnqueuedJob(string Kind, string Queue);
}
