using System.Collections.Concurrent;
using System.Diagnostics;
using System.Diagnostics.Metrics;
using System.Net;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Diagnostics;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;
using Observability.AspNetCore.Tests.Support;

namespace Observability.AspNetCore.Tests.Pipeline;

/// <summary>
/// An exception the middleware answers with a 500 is still visible where error trackers look for one handled by
/// ASP.NET Core's own exception handler: the features on the context, the diagnostic event, the request's activity and
/// the framework's request-duration metric. Each test throws a message of its own, because the listeners it uses see
/// every app in the process.
/// </summary>
public sealed class HandledExceptionTests
{
    private const string HandledExceptionEvent = "Microsoft.AspNetCore.Diagnostics.HandledException";

    private static Task<TestApp> StartAsync(string message, Action<WebApplication>? beforeObservability = null) =>
        TestApp.StartAsync(
            app =>
            {
                app.MapGet("/orders/{id:int}", string (int id) => throw new InvalidOperationException(message));
                app.MapGet("/ok", () => "ok");
            },
            beforeObservability: beforeObservability);

    [Fact]
    public async Task Middleware_around_the_library_finds_the_exception_in_the_exception_handler_features()
    {
        IExceptionHandlerFeature? handler = null;
        IExceptionHandlerPathFeature? path = null;
        var message = $"boom {Guid.NewGuid()}";
        await using var app = await StartAsync(message, a => a.Use(async (HttpContext ctx, RequestDelegate next) =>
        {
            await next(ctx);
            handler = ctx.Features.Get<IExceptionHandlerFeature>();
            path = ctx.Features.Get<IExceptionHandlerPathFeature>();
        }));

        using var response = await app.Client.GetAsync("/orders/7");

        Assert.Equal(HttpStatusCode.InternalServerError, response.StatusCode);
        Assert.NotNull(handler);
        var error = Assert.IsType<InvalidOperationException>(handler.Error);
        Assert.Equal(message, error.Message);
        Assert.Equal("/orders/7", handler.Path);
        Assert.Equal("/orders/{id:int}", Assert.IsType<RouteEndpoint>(handler.Endpoint).RoutePattern.RawText);
        Assert.Equal("7", handler.RouteValues?["id"]?.ToString());
        Assert.Same(handler, path);
    }

    [Fact]
    public async Task A_successful_request_carries_no_exception_handler_feature()
    {
        var seen = false;
        await using var app = await StartAsync("unused", a => a.Use(async (HttpContext ctx, RequestDelegate next) =>
        {
            await next(ctx);
            seen = ctx.Features.Get<IExceptionHandlerFeature>() is not null;
        }));

        using var response = await app.Client.GetAsync("/ok");

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.False(seen);
    }

    [Fact]
    public async Task Handled_exception_diagnostic_event_carries_the_http_context_and_the_exception()
    {
        var message = $"boom {Guid.NewGuid()}";
        var payloads = new ConcurrentQueue<(string? TraceIdentifier, Exception? Exception)>();
        using var subscription = DiagnosticListener.AllListeners.Subscribe(new Observer<DiagnosticListener>(listener =>
        {
            if (listener.Name == "Microsoft.AspNetCore")
            {
                listener.Subscribe(
                    new Observer<KeyValuePair<string, object?>>(e =>
                    {
                        var exception = e.Value?.GetType().GetProperty("exception")?.GetValue(e.Value) as Exception;
                        if (e.Key == HandledExceptionEvent && exception?.Message == message)
                        {
                            // Read while the request runs: the context is recycled once it has completed.
                            var context = e.Value!.GetType().GetProperty("httpContext")?.GetValue(e.Value) as HttpContext;
                            payloads.Enqueue((context?.TraceIdentifier, exception));
                        }
                    }),
                    name => name == HandledExceptionEvent);
            }
        }));
        await using var app = await StartAsync(message);

        using var request = new HttpRequestMessage(HttpMethod.Get, "/orders/7");
        request.Headers.Add("X-Request-ID", "diag-1");
        using var response = await app.Client.SendAsync(request);

        Assert.Equal(HttpStatusCode.InternalServerError, response.StatusCode);
        var (traceIdentifier, error) = Assert.Single(payloads);
        Assert.IsType<InvalidOperationException>(error);
        Assert.Equal("diag-1", traceIdentifier);
    }

    [Fact]
    public async Task Request_activity_is_an_error_with_the_exception_recorded()
    {
        var message = $"boom {Guid.NewGuid()}";
        var stopped = new ConcurrentQueue<Activity>();
        using var listener = new ActivityListener
        {
            ShouldListenTo = source => source.Name == "Microsoft.AspNetCore",
            Sample = static (ref ActivityCreationOptions<ActivityContext> _) => ActivitySamplingResult.AllDataAndRecorded,
            ActivityStopped = stopped.Enqueue,
        };
        ActivitySource.AddActivityListener(listener);
        await using var app = await StartAsync(message);

        using var response = await app.Client.GetAsync("/orders/7");

        Assert.Equal(HttpStatusCode.InternalServerError, response.StatusCode);
        Activity? activity = null;
        await Poll.UntilAsync(() => (activity = stopped.FirstOrDefault(a => Carries(a, message))) is not null);
        Assert.Equal(ActivityStatusCode.Error, activity!.Status);
        Assert.Equal("System.InvalidOperationException", activity.GetTagItem("error.type"));
        var recorded = Assert.Single(activity.Events, e => e.Name == "exception");
        Assert.Equal("System.InvalidOperationException", recorded.Tags.Single(t => t.Key == "exception.type").Value);
        Assert.Contains("HandledExceptionTests", (string?)recorded.Tags.Single(t => t.Key == "exception.stacktrace").Value, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Framework_request_duration_metric_carries_the_exception_type_as_error_type()
    {
        var message = $"boom {Guid.NewGuid()}";
        var route = $"/metric-{Guid.NewGuid():N}/{{id:int}}";
        var errorTypes = new ConcurrentQueue<string?>();
        using var meters = new MeterListener
        {
            InstrumentPublished = (instrument, l) =>
            {
                if (instrument.Meter.Name == "Microsoft.AspNetCore.Hosting" && instrument.Name == "http.server.request.duration")
                {
                    l.EnableMeasurementEvents(instrument);
                }
            },
        };
        meters.SetMeasurementEventCallback<double>((_, _, tags, _) =>
        {
            string? routeTag = null;
            string? errorType = null;
            foreach (var tag in tags)
            {
                if (tag.Key == "http.route")
                {
                    routeTag = tag.Value as string;
                }
                else if (tag.Key == "error.type")
                {
                    errorType = tag.Value as string;
                }
            }

            if (routeTag == route)
            {
                errorTypes.Enqueue(errorType);
            }
        });
        meters.Start();
        await using var app = await TestApp.StartAsync(a => a.MapGet(route, string (int id) => throw new InvalidOperationException(message)));

        using var response = await app.Client.GetAsync(route.Replace("{id:int}", "7", StringComparison.Ordinal));

        Assert.Equal(HttpStatusCode.InternalServerError, response.StatusCode);
        await Poll.UntilAsync(() => !errorTypes.IsEmpty);
        Assert.Equal("System.InvalidOperationException", Assert.Single(errorTypes));
    }

    /// <summary>The request's activity is told apart from other tests' by the exception message it was given.</summary>
    private static bool Carries(Activity activity, string message)
    {
        foreach (var e in activity.Events)
        {
            foreach (var tag in e.Tags)
            {
                if (tag.Key == "exception.message" && Equals(tag.Value, message))
                {
                    return true;
                }
            }
        }

        return false;
    }

    private sealed class Observer<T>(Action<T> onNext) : IObserver<T>
    {
        public void OnCompleted()
        {
        }

        public void OnError(Exception error)
        {
        }

        public void OnNext(T value) => onNext(value);
    }
}
