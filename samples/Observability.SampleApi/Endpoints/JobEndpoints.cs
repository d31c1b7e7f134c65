using Microsoft.AspNetCore.Http.HttpResults;
using Observability.AspNetCore;
using Observability.SampleApi.Jobs;

namespace Observability.SampleApi.Endpoints;

/// <summary><c>POST /api/jobs/{kind}</c>: enqueues one background job for the sample's worker.</summary>
internal static class JobEndpoints
{
    public static void MapJobs(this IEndpointRouteBuilder api) => api.MapPost("/jobs/{kind}", Enqueue);

    private static Results<Accepted<EnqueuedJob>, ValidationProblem, ProblemHttpResult> Enqueue(string kind, InMemoryJobQueue queue, IJobRunner jobs)
    {
        if (!SampleJob.Kinds.Contains(kind))
        {
            return TypedResults.ValidationProblem(new Dictionary<string, string[]>
            {
                ["kind"] = [$"Unknown job kind '{kind}'; one of {string.Join(", ", SampleJob.Kinds)}."],
            });
        }

        // The origin goes with the job, so the worker's events carry this request's ID.
        return queue.TryEnqueue(new SampleJob(kind, jobs.CaptureOrigin()))
            ? TypedResults.Accepted((string?)null, new EnqueuedJob(kind, queue.Count))
            : TypedResults.Problem("The job queue is full.", statusCode: StatusCodes.Status503ServiceUnavailable);
    }

    internal sealed record EnqueuedJob(string Kind, int Queued);
}
