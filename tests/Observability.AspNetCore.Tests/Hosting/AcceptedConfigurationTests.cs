using System.Net;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Hosting;
using Observability.AspNetCore.Tests.Support;

namespace Observability.AspNetCore.Tests.Hosting;

/// <summary>
/// Every value the library accepts gives a working app; anything else stops startup with a message naming the full
/// key and the value, never an exception at the first request.
/// </summary>
public sealed class AcceptedConfigurationTests
{
    private static Exception? BuildAndStart(IDictionary<string, string?> configuration, Action<WebApplication>? map = null) =>
        TestApp.StartupError(configuration, map: map);

    private static void AssertStartupError(Exception? ex, string key, string value)
    {
        Assert.NotNull(ex);
        Assert.Contains(key, ex.Message, StringComparison.Ordinal);
        Assert.Contains($"'{value}'", ex.Message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("Content-Length")]
    [InlineData("content-type")]
    [InlineData("Content-Encoding")]
    [InlineData("Transfer-Encoding")]
    [InlineData("Connection")]
    [InlineData("Keep-Alive")]
    [InlineData("Upgrade")]
    [InlineData("Trailer")]
    [InlineData("Host")]
    [InlineData("Date")]
    [InlineData("Server")]
    [InlineData("Set-Cookie")]
    [InlineData("Location")]
    [InlineData("X-Response-Time")]
    [InlineData("traceparent")]
    public void Request_id_header_that_http_or_the_server_owns_stops_startup(string header)
    {
        AssertStartupError(BuildAndStart(new Dictionary<string, string?> { ["Observability:RequestId:Header"] = header }), "Observability:RequestId:Header", header);
    }

    [Theory]
    [InlineData("X-Correlation-ID")]
    [InlineData("Request-Id")]
    public async Task Accepted_request_id_header_is_echoed_on_a_successful_response(string header)
    {
        await using var app = await TestApp.StartAsync(a => a.MapGet("/", () => "ok"), new Dictionary<string, string?> { ["Observability:RequestId:Header"] = header });
        using var request = new HttpRequestMessage(HttpMethod.Get, "/");
        request.Headers.Add(header, "abc-123");

        var response = await app.Client.SendAsync(request);

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal("abc-123", response.Headers.GetValues(header).Single());
    }

    [Theory]
    [InlineData("Observability:Health:Detailed:Access", "1")]
    [InlineData("Observability:Health:Detailed:Access", "Localhost,Anonymous")]
    [InlineData("Observability:Health:Detailed:Access", "Localhost, Policy")]
    [InlineData("Observability:Logging:Format", "1")]
    [InlineData("Observability:Logging:Format", "Json,Text")]
    [InlineData("Observability:Logging:OwnEndpointsLevel", "2")]
    [InlineData("Observability:Logging:OwnEndpointsLevel", "Debug,Warning")]
    public void Enum_value_given_as_a_number_or_a_combination_stops_startup(string key, string value)
    {
        AssertStartupError(BuildAndStart(new Dictionary<string, string?> { [key] = value }), key, value);
    }

    [Fact]
    public async Task Enum_names_are_case_insensitive()
    {
        await using var app = await TestApp.StartAsync(a => a.MapGet("/", () => "ok"), new Dictionary<string, string?>
        {
            ["Observability:Health:Detailed:Access"] = "anonymous",
            ["Observability:Logging:Format"] = "json",
            ["Observability:Logging:OwnEndpointsLevel"] = "information",
        });

        Assert.Equal(HttpStatusCode.OK, (await app.Client.GetAsync("/health/detailed")).StatusCode);
    }

    [Theory]
    [InlineData("Observability:Metrics:Path", "/{**all}")]
    [InlineData("Observability:Metrics:Path", "/{path}")]
    [InlineData("Observability:Metrics:Path", "/metrics{")]
    [InlineData("Observability:Metrics:Path", "/metrics}")]
    [InlineData("Observability:Metrics:Path", "/m?x=1")]
    [InlineData("Observability:Metrics:Path", "/m#x")]
    [InlineData("Observability:Metrics:Path", "/a//metrics")]
    [InlineData("Observability:Metrics:Path", "/a/../metrics")]
    [InlineData("Observability:Metrics:Path", "/x%20y")]
    [InlineData("Observability:Health:Path", "/h%2Fz")]
    [InlineData("Observability:Health:Path", "/{**all}")]
    [InlineData("Observability:Health:Path", "/a//health")]
    [InlineData("Observability:Health:Path", "/./health")]
    public void Endpoint_path_that_is_not_a_literal_path_stops_startup(string key, string value)
    {
        AssertStartupError(BuildAndStart(new Dictionary<string, string?> { [key] = value }), key, value);
    }

    [Theory]
    [InlineData("Observability:Health:Path", "/", "/")]
    [InlineData("Observability:Health:Path", "/", "/live")]
    [InlineData("Observability:Health:Path", "/health", "/health/ready")]
    [InlineData("Observability:Health:Path", "/status", "/STATUS/detailed")]
    [InlineData("Observability:Metrics:Path", "/metrics", "/metrics")]
    [InlineData("Observability:Metrics:Path", "/stats/", "/stats")]
    public void Library_path_that_an_app_endpoint_uses_stops_startup_naming_the_key_the_value_and_the_endpoint(string key, string value, string appRoute)
    {
        var ex = BuildAndStart(new Dictionary<string, string?> { [key] = value }, a => a.MapGet(appRoute, () => "app"));

        AssertStartupError(ex, key, value);
        Assert.Contains(appRoute, ex!.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Collision_with_an_endpoint_that_answers_every_method_stops_startup()
    {
        var ex = BuildAndStart(new Dictionary<string, string?>(), a => a.Map("/metrics", (HttpContext _) => Task.CompletedTask));

        AssertStartupError(ex, "Observability:Metrics:Path", "/metrics");
    }

    [Fact]
    public async Task Root_health_path_serves_its_endpoints_when_no_app_endpoint_uses_them()
    {
        await using var app = await TestApp.StartAsync(a => a.MapGet("/api/items", () => "items"), new Dictionary<string, string?> { ["Observability:Health:Path"] = "/" });

        Assert.Equal(HttpStatusCode.OK, (await app.Client.GetAsync("/live")).StatusCode);
        Assert.Equal(HttpStatusCode.OK, (await app.Client.GetAsync("/api/items")).StatusCode);
    }

    [Fact]
    public async Task App_endpoint_on_the_metrics_path_for_another_method_or_below_it_is_no_collision()
    {
        await using var app = await TestApp.StartAsync(a =>
        {
            a.MapPost("/metrics", () => "posted");
            a.MapGet("/metrics/{name}", (string name) => name);
            a.MapGet("/{**slug}", (string slug) => slug);
        });

        var metrics = await app.Client.GetAsync("/metrics");
        var posted = await app.Client.PostAsync("/metrics", null);

        Assert.Equal(HttpStatusCode.OK, metrics.StatusCode);
        Assert.Contains("http_requests_total", await metrics.Content.ReadAsStringAsync(), StringComparison.Ordinal);
        Assert.Equal("posted", await posted.Content.ReadAsStringAsync());
    }

    [Fact]
    public void Slow_request_route_that_matches_no_endpoint_stops_startup()
    {
        var ex = BuildAndStart(
            new Dictionary<string, string?>
            {
                ["Observability:SlowRequests:Routes:0:Route"] = "/api/items/{id:int}",
                ["Observability:SlowRequests:Routes:0:ThresholdMs"] = "200",
                ["Observability:SlowRequests:Routes:1:Route"] = "/api/itemz",
                ["Observability:SlowRequests:Routes:1:ThresholdMs"] = "200",
            },
            a =>
            {
                a.MapGet("/api/items/{id:int}", (int id) => id);
                a.MapGet("/api/items", () => "items");
            });

        AssertStartupError(ex, "Observability:SlowRequests:Routes:1:Route", "/api/itemz");
        Assert.DoesNotContain("Routes:0", ex!.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Slow_request_route_that_differs_from_a_template_only_in_case_or_slash_names_the_template()
    {
        var ex = BuildAndStart(
            new Dictionary<string, string?> { ["Observability:SlowRequests:Routes:0:Route"] = "/API/Items", ["Observability:SlowRequests:Routes:0:ThresholdMs"] = "200" },
            a => a.MapGet("api/items", () => "items"));

        AssertStartupError(ex, "Observability:SlowRequests:Routes:0:Route", "/API/Items");
        Assert.Contains("'api/items'", ex!.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Slow_request_route_that_matches_an_endpoint_starts()
    {
        await using var app = await TestApp.StartAsync(
            a => a.MapGet("/api/items/{id:int}", (int id) => id),
            new Dictionary<string, string?> { ["Observability:SlowRequests:Routes:0:Route"] = "/api/items/{id:int}", ["Observability:SlowRequests:Routes:0:ThresholdMs"] = "200" });

        Assert.Equal(HttpStatusCode.OK, (await app.Client.GetAsync("/api/items/7")).StatusCode);
    }
}
