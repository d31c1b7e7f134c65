using System.Text.Json;
using Microsoft.AspNetCore.Builder;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using Observability.AspNetCore.Tests.Support;

namespace Observability.AspNetCore.Tests.Jobs;

/// <summary>A unit of background work gets what a request gets: its identity on every event, one completion event, metrics.</summary>
public sealed class JobRunnerTests
{
    private static Task<TestApp> StartAsync(IDictionary<string, string?>? configuration = null) => TestApp.StartAsync(
        app => app.MapGet("/enqueue", (IJobRunner jobs) => jobs.CaptureOrigin().ToString()),
        configuration);

    private static IJobRunner Jobs(TestApp app) => app.App.Services.GetRequiredService<IJobRunner>();

    private static ILogger Logger(TestApp app) => app.App.Services.GetRequiredService<ILoggerFactory>().CreateLogger("SampleWorker");

    private static bool IsJobCompletion(JsonElement e) =>
        e.TryGetProperty("EventId", out var id) && id.TryGetProperty("Name", out var n) && n.GetString() == "JobRunCompleted";

    [Fact]
    public async Task Every_event_of_a_run_carries_its_JobName_and_JobRunId_and_one_completion_event_says_it_succeeded()
    {
        await using var app = await StartAsync();
        var logger = Logger(app);

        var result = await Jobs(app).RunAsync("send-email", async ct =>
        {
            logger.LogInformation("Sending to {To}", "ada@example.com");
            await Task.Yield();
            logger.LogInformation("Sent");
        }, CancellationToken.None);
        logger.LogInformation("After the run");

        Assert.Equal(JobOutcome.Succeeded, result.Outcome);
        var events = await app.WaitForEventsAsync(e => e.Str("JobRunId") == result.JobRunId, count: 3);
        Assert.All(events, e => Assert.Equal("send-email", e.Str("JobName")));
        var completion = Assert.Single(events, IsJobCompletion);
        Assert.Equal("Information", completion.Level());
        Assert.Equal("Succeeded", completion.Str("Outcome"));
        Assert.Equal(1500, completion.GetProperty("EventId").GetProperty("Id").GetInt32());
        Assert.True(completion.GetProperty("Elapsed").GetDouble() >= 0);
        var after = Assert.Single(app.Events(), e => e.Str("@mt") == "After the run");
        Assert.False(after.Has("JobName"));
        Assert.False(after.Has("JobRunId"));
    }

    [Fact]
    public async Task A_run_that_throws_is_one_Error_with_the_exception_and_the_caller_keeps_running()
    {
        await using var app = await StartAsync();

        var result = await Jobs(app).RunAsync("render-pdf", _ => throw new InvalidOperationException("template missing"), CancellationToken.None);

        Assert.Equal(JobOutcome.Failed, result.Outcome);
        Assert.IsType<InvalidOperationException>(result.Exception);
        var completion = Assert.Single(await app.WaitForEventsAsync(IsJobCompletion));
        Assert.Equal("Error", completion.Level());
        Assert.Equal("Failed", completion.Str("Outcome"));
        Assert.Equal(result.JobRunId, completion.Str("JobRunId"));
        Assert.Contains("template missing", completion.Str("@x"), StringComparison.Ordinal);
        Assert.Single(app.Events(), e => e.Has("@x"));
    }

    [Fact]
    public async Task A_run_cancelled_through_its_token_is_Cancelled_not_Failed()
    {
        await using var app = await StartAsync();
        using var stopping = new CancellationTokenSource();
        await stopping.CancelAsync();

        var result = await Jobs(app).RunAsync("poll", ct => Task.Delay(Timeout.Infinite, ct), stopping.Token);

        Assert.Equal(JobOutcome.Cancelled, result.Outcome);
        var completion = Assert.Single(await app.WaitForEventsAsync(IsJobCompletion));
        Assert.Equal("Cancelled", completion.Str("Outcome"));
        Assert.Equal("Information", completion.Level());
    }

    [Fact]
    public async Task Synchronous_work_runs_the_same_way()
    {
        await using var app = await StartAsync();
        var logger = Logger(app);

        var result = Jobs(app).Run("cleanup", null, _ => logger.LogInformation("Cleaning"));

        Assert.Equal(JobOutcome.Succeeded, result.Outcome);
        var cleaning = Assert.Single(await app.WaitForEventsAsync(e => e.Str("@mt") == "Cleaning"));
        Assert.Equal(result.JobRunId, cleaning.Str("JobRunId"));
        logger.LogInformation("Outside");
        Assert.False(Assert.Single(app.Events(), e => e.Str("@mt") == "Outside").Has("JobRunId"));
    }

    [Fact]
    public async Task A_run_enqueued_by_a_request_carries_that_request_s_RequestId()
    {
        await using var app = await StartAsync();
        var logger = Logger(app);
        using var request = new HttpRequestMessage(HttpMethod.Get, "/enqueue");
        request.Headers.Add("X-Request-ID", "order-123");
        using var response = await app.Client.SendAsync(request);
        var origin = JobOrigin.Parse(await response.Content.ReadAsStringAsync());

        var result = await Jobs(app).RunAsync("send-email", origin, _ =>
        {
            logger.LogInformation("Sending");
            return Task.CompletedTask;
        }, CancellationToken.None);

        Assert.Equal("order-123", origin.RequestId);
        var events = await app.WaitForEventsAsync(e => e.Str("JobRunId") == result.JobRunId, count: 2);
        Assert.All(events, e => Assert.Equal("order-123", e.Str("RequestId")));
    }

    [Fact]
    public async Task A_request_id_read_from_a_queue_that_is_not_a_valid_one_is_left_out()
    {
        await using var app = await StartAsync();

        var result = await Jobs(app).RunAsync("send-email", new JobOrigin { RequestId = "x\"}\n{\"forged\":1" }, _ => Task.CompletedTask, CancellationToken.None);

        var completion = Assert.Single(await app.WaitForEventsAsync(IsJobCompletion));
        Assert.False(completion.Has("RequestId"));
        Assert.Equal(result.JobRunId, completion.Str("JobRunId"));
    }

    [Fact]
    public async Task Runs_are_counted_by_job_name_and_outcome_and_slow_runs_warn_under_the_per_job_threshold()
    {
        await using var app = await StartAsync(new Dictionary<string, string?>
        {
            ["Observability:Jobs:Jobs:0:Name"] = "slow-job",
            ["Observability:Jobs:Jobs:0:SlowThresholdMs"] = "50",
        });
        var jobs = Jobs(app);

        await jobs.RunAsync("fast-job", _ => Task.CompletedTask, CancellationToken.None);
        await jobs.RunAsync("fast-job", _ => Task.CompletedTask, CancellationToken.None);
        await jobs.RunAsync("fast-job", _ => throw new InvalidOperationException("x"), CancellationToken.None);
        var slow = await jobs.RunAsync("slow-job", ct => Task.Delay(150, ct), CancellationToken.None);
        jobs.ReportQueueDepth("emails", 7);

        var samples = Exposition.Parse(await app.Client.GetStringAsync("/metrics"));
        Assert.Equal(2, samples.Value("job_runs_total", ("job_name", "fast-job"), ("outcome", "succeeded")));
        Assert.Equal(1, samples.Value("job_runs_total", ("job_name", "fast-job"), ("outcome", "failed")));
        Assert.Equal(1, samples.Value("job_run_duration_seconds_count", ("job_name", "slow-job"), ("outcome", "succeeded")));
        Assert.True(samples.Value("job_run_duration_seconds_sum", ("job_name", "slow-job"), ("outcome", "succeeded")) >= 0.1, "a 150 ms run");
        Assert.Equal(0, samples.Value("job_runs_in_progress", ("job_name", "fast-job")));
        Assert.Equal(1, samples.Value("job_slow_runs_total", ("job_name", "slow-job")));
        Assert.Equal(0, samples.Value("job_slow_runs_total", ("job_name", "fast-job")));
        Assert.Equal(7, samples.Value("job_queue_depth", ("queue", "emails")));
        var warning = Assert.Single(await app.WaitForEventsAsync(e => e.Str("@mt")?.StartsWith("Slow job run", StringComparison.Ordinal) == true));
        Assert.Equal(slow.JobRunId, warning.Str("JobRunId"));
        Assert.Equal(50, warning.GetProperty("ThresholdMs").GetInt32());
    }

    [Fact]
    public async Task A_run_in_progress_shows_in_the_gauge()
    {
        await using var app = await StartAsync();
        var release = new TaskCompletionSource();

        var run = Jobs(app).RunAsync("long-job", _ => release.Task, CancellationToken.None);
        var during = Exposition.Parse(await app.Client.GetStringAsync("/metrics"));
        release.SetResult();
        await run;
        var after = Exposition.Parse(await app.Client.GetStringAsync("/metrics"));

        Assert.Equal(1, during.Value("job_runs_in_progress", ("job_name", "long-job")));
        Assert.Equal(0, after.Value("job_runs_in_progress", ("job_name", "long-job")));
    }

    [Fact]
    public async Task Job_names_past_the_cap_are_counted_under_other_with_one_warning()
    {
        await using var app = await StartAsync(new Dictionary<string, string?> { ["Observability:Jobs:MaxJobNames"] = "2" });
        var jobs = Jobs(app);

        foreach (var name in new[] { "a", "b", "c", "d", "c" })
        {
            await jobs.RunAsync(name, _ => Task.CompletedTask, CancellationToken.None);
        }

        var samples = Exposition.Parse(await app.Client.GetStringAsync("/metrics"));
        var names = samples.Where(s => s.Name == "job_runs_total").Select(s => s.Labels["job_name"]).Distinct().Order().ToList();
        Assert.Equal(["a", "b", "other"], names);
        Assert.Equal(3, samples.Value("job_runs_total", ("job_name", "other"), ("outcome", "succeeded")));
        Assert.Single(await app.WaitForEventsAsync(e => e.Str("@mt")?.Contains("distinct", StringComparison.Ordinal) == true));
    }

    [Theory]
    [InlineData("Observability:Jobs:SlowThresholdMs", "-1")]
    [InlineData("Observability:Jobs:MaxJobNames", "0")]
    [InlineData("Observability:Jobs:Jobs:0:SlowThresholdMs", "-5")]
    public void A_bad_jobs_setting_stops_startup_naming_the_key_and_the_value(string key, string value)
    {
        var configuration = new Dictionary<string, string?> { [key] = value };
        if (key.Contains(":Jobs:0:", StringComparison.Ordinal))
        {
            configuration["Observability:Jobs:Jobs:0:Name"] = "send-email";
        }

        var builder = TestApp.CreateBuilder(configuration);
        builder.AddObservability();
        var ex = Record.Exception(() =>
        {
            using var app = builder.Build();
            app.UseObservability();
            app.StartAsync().GetAwaiter().GetResult();
        });

        var validation = Assert.IsType<OptionsValidationException>(ex);
        Assert.Contains(key, validation.Message, StringComparison.Ordinal);
        Assert.Contains(value, validation.Message, StringComparison.Ordinal);
    }
}
