using System.Diagnostics;
using System.Diagnostics.Metrics;
using Microsoft.Extensions.DependencyInjection;
using Observability.AspNetCore.Metrics.Bridge;
using Prometheus;
using static Observability.AspNetCore.Tests.Metrics.Bridge.ScrapeText;
using static Observability.AspNetCore.Tests.Support.Exposition;

namespace Observability.AspNetCore.Tests.Metrics.Bridge;

[Collection(ProcessWideMetersCollection.Name)]
public sealed class MeterBridgeTests
{
    private static (CollectorRegistry Registry, MeterBridge Bridge) Bridge(string meterName, int maxSeries = 1000) =>
        Bridge([meterName], [], maxSeries);

    private static (CollectorRegistry Registry, MeterBridge Bridge) Bridge(IReadOnlyList<string>? meters, IReadOnlyList<string> exclude, int maxSeries = 1000)
    {
        var registry = Prometheus.Metrics.NewCustomRegistry();
        return (registry, new MeterBridge(registry, meters, exclude, maxSeries));
    }

    /// <summary>
    /// The shape most bridge behaviour has: instruments of one meter record, Prometheus scrapes once, and the exposition
    /// holds these lines and sample values and none of these strings. Keyed by what the row shows, the old test's name.
    /// </summary>
    private static readonly Dictionary<string, Export> Exports = new()
    {
        ["User_counter_is_exported_as_a_prometheus_counter_with_total_suffix"] = new(
            meter => meter.CreateCounter<long>("bookings").Add(3, new KeyValuePair<string, object?>("kind", "x")))
        {
            Lines = ["# TYPE bookings_total counter"],
            Values = [new("bookings_total", 3, ("kind", "x"))],
        },
        ["Failed_operations_keep_their_error_type_when_the_first_duration_was_a_success"] = new(meter =>
        {
            // As Kestrel records kestrel.connection.duration: error.type only on the connections it ended for an error.
            var duration = meter.CreateHistogram<double>("connection.duration", unit: "s");
            duration.Record(0.5, new KeyValuePair<string, object?>("network.transport", "tcp"));
            duration.Record(0.1, new("network.transport", "tcp"), new("error.type", "max_request_headers_total_size_exceeded"));
        })
        {
            Values =
            [
                new("connection_duration_seconds_count", 1, ("error_type", ""), ("network_transport", "tcp")),
                new("connection_duration_seconds_count", 1, ("error_type", "max_request_headers_total_size_exceeded"), ("network_transport", "tcp")),
            ],
        },
        ["Connection_string_label_values_keep_only_host_port_and_database"] = new(meter =>
        {
            // Npgsql names an unnamed pool by its connection string minus Password; other drivers spell keys their own way.
            var counter = meter.CreateCounter<long>("pool.events");
            counter.Add(1, new("db.client.connection.pool.name", "Host=db.internal;Port=5433;Database=orders;Username=app;SSL Password=MARK1;Kerberos Service Name=MARK2;Options='-c search_path=MARK3'"), new("note", "a=b"));
            counter.Add(1, new("db.client.connection.pool.name", "Data Source=sql,1433;Initial Catalog=shop;User ID=sa;Password=MARK4"), new("note", "plain"));
            counter.Add(1, new("db.client.connection.pool.name", "Server=x;Password='MARK5"), new("note", "unparsable"));
        })
        {
            Absent = ["MARK"],
            Values =
            [
                new("pool_events_total", 1, ("db_client_connection_pool_name", "Host=db.internal;Port=5433;Database=orders"), ("note", "a=b")),
                new("pool_events_total", 1, ("db_client_connection_pool_name", "Host=sql,1433;Database=shop"), ("note", "plain")),
                new("pool_events_total", 1, ("db_client_connection_pool_name", "redacted"), ("note", "unparsable")),
            ],
        },
        ["Counter_increments_add_up_per_series_and_total_is_not_doubled"] = new(meter =>
        {
            var counter = meter.CreateCounter<int>("requests.total");
            counter.Add(1, new KeyValuePair<string, object?>("code", 200));
            counter.Add(2, new KeyValuePair<string, object?>("code", 200));
            counter.Add(5, new KeyValuePair<string, object?>("code", 500));
        })
        {
            Lines = ["# TYPE requests_total counter"],
            Values = [new("requests_total", 3, ("code", "200")), new("requests_total", 5, ("code", "500"))],
            Absent = ["requests_total_total"],
        },
        ["Histogram_in_seconds_is_exported_as_a_histogram_with_buckets_sum_and_count"] = new(meter =>
        {
            var histogram = meter.CreateHistogram<double>("checkout.latency", unit: "s", description: "Checkout latency.");
            histogram.Record(0.02);
            histogram.Record(0.3);
            histogram.Record(4);
        })
        {
            Lines = ["# TYPE checkout_latency_seconds histogram", "# HELP checkout_latency_seconds Checkout latency."],
            Values =
            [
                new("checkout_latency_seconds_count", 3),
                new("checkout_latency_seconds_sum", 4.32) { Precision = 9 },
                new("checkout_latency_seconds_bucket", 1, ("le", "0.025")),
                new("checkout_latency_seconds_bucket", 2, ("le", "0.5")),
                new("checkout_latency_seconds_bucket", 3, ("le", "+Inf")),
                new("checkout_latency_seconds_bucket", 3, ("le", "10")),
            ],
        },
        ["Milliseconds_are_exported_in_seconds_because_promtool_rejects_non_base_units"] = new(meter =>
        {
            meter.CreateHistogram<double>("queue.wait", unit: "ms").Record(1500);
            meter.CreateCounter<long>("gc.pause", unit: "ms").Add(250);
        })
        {
            Lines = ["# TYPE queue_wait_seconds histogram", "# TYPE gc_pause_seconds_total counter"],
            Values =
            [
                new("queue_wait_seconds_sum", 1.5),
                new("queue_wait_seconds_bucket", 0, ("le", "1")),
                new("queue_wait_seconds_bucket", 1, ("le", "2.5")),
                new("gc_pause_seconds_total", 0.25),
            ],
            Absent = ["milliseconds"],
        },
        ["Up_down_counter_is_exported_as_a_gauge_that_sums_the_deltas"] = new(meter =>
        {
            var active = meter.CreateUpDownCounter<int>("sessions.active", unit: "{session}");
            active.Add(5);
            active.Add(-2);
        })
        {
            Lines = ["# TYPE sessions_active gauge"],
            Values = [new("sessions_active", 3)],
        },
        ["Observable_up_down_counter_and_gauge_are_exported_as_gauges"] = new(meter =>
        {
            meter.CreateObservableUpDownCounter("pool.connections", () => -4L);
            meter.CreateGauge<double>("cache.hit.ratio", unit: "1").Record(0.75);
        })
        {
            Lines = ["# TYPE pool_connections gauge", "# TYPE cache_hit_ratio gauge"],
            Values = [new("pool_connections", -4), new("cache_hit_ratio", 0.75)],
        },
        ["Dotted_names_and_units_are_sanitized"] = new(meter =>
        {
            meter.CreateHistogram<double>("db.client.commands.duration", unit: "s").Record(0.01);
            meter.CreateCounter<long>("http-client/requestBytes", unit: "By").Add(10);
            meter.CreateCounter<long>("orders.placed", unit: "{order}").Add(1, new KeyValuePair<string, object?>("payment.method", "card"), new KeyValuePair<string, object?>("isRetry", true));
        })
        {
            Lines = ["# TYPE db_client_commands_duration_seconds histogram", "# TYPE http_client_request_bytes_total counter"],
            Values = [new("http_client_request_bytes_total", 10), new("orders_placed_total", 1, ("is_retry", "true"), ("payment_method", "card"))],
        },
        ["Gauge_names_promtool_reserves_for_other_types_get_a_value_suffix"] = new(meter =>
        {
            meter.CreateObservableGauge("queue.count", () => 7);
            meter.CreateObservableGauge("memory.total", () => 8, unit: "By");
            meter.CreateUpDownCounter<int>("jobs.total").Add(2);
            meter.CreateGauge<int>("tag.test").Record(1, new KeyValuePair<string, object?>("le", "x"), new KeyValuePair<string, object?>("quantile", "y"));
        })
        {
            Lines = ["# TYPE queue_count_value gauge"],
            Values =
            [
                new("queue_count_value", 7),
                new("memory_total_bytes", 8),
                new("jobs_total_value", 2),
                new("tag_test", 1, ("exported_le", "x"), ("exported_quantile", "y")),
            ],
        },
        ["The_label_set_is_fixed_by_the_first_measurement"] = new(meter =>
        {
            var counter = meter.CreateCounter<int>("jobs");
            counter.Add(1, new KeyValuePair<string, object?>("queue", "q1"), new KeyValuePair<string, object?>("kind", "k"));
            counter.Add(2, new KeyValuePair<string, object?>("queue", "q2"));
            counter.Add(4, new KeyValuePair<string, object?>("kind", "k"), new KeyValuePair<string, object?>("queue", "q1"), new KeyValuePair<string, object?>("extra", "dropped"));
        })
        {
            Values = [new("jobs_total", 5, ("kind", "k"), ("queue", "q1")), new("jobs_total", 2, ("kind", ""), ("queue", "q2"))],
            Absent = ["extra"],
        },
        ["Numeric_and_boolean_tag_values_are_formatted_invariantly_and_reuse_their_series"] = new(meter =>
        {
            var histogram = meter.CreateHistogram<double>("payload.size", unit: "KiBy");
            for (var i = 0; i < 3; i++)
            {
                histogram.Record(2, new KeyValuePair<string, object?>("ratio", 0.5), new KeyValuePair<string, object?>("ok", false), new KeyValuePair<string, object?>("none", null));
            }
        })
        {
            Values =
            [
                new("payload_size_bytes_count", 3, ("none", ""), ("ok", "false"), ("ratio", "0.5")),
                new("payload_size_bytes_sum", 6144, ("none", ""), ("ok", "false"), ("ratio", "0.5")),
            ],
        },
        ["Invalid_measurements_and_throwing_callbacks_never_reach_the_app_or_the_scrape"] = new(meter =>
        {
            var counter = meter.CreateCounter<double>("faulty");
            counter.Add(2);
            counter.Add(-1);
            counter.Add(double.NaN);
            meter.CreateObservableGauge("throws", (Func<int>)(() => throw new InvalidOperationException("observable failed")));
            meter.CreateObservableGauge("fine", () => 3);
        })
        {
            Values = [new("faulty_total", 2), new("fine", 3)],
        },
    };

    public static TheoryData<string> ExportNames => new(Exports.Keys);

    [Theory]
    [MemberData(nameof(ExportNames))]
    public async Task Measurements_are_exported_as_prometheus_reads_them(string name)
    {
        var export = Exports[name];
        var meterName = UniqueMeterName(name);
        using var meter = new Meter(meterName);
        var (registry, bridge) = Bridge(meterName);
        using var _ = bridge;

        export.Record(meter);

        var text = await ScrapeAsync(registry);
        var samples = Parse(text);
        foreach (var line in export.Lines)
        {
            Assert.Contains(line, Lines(text));
        }

        foreach (var expected in export.Values)
        {
            if (expected.Precision is { } precision)
            {
                Assert.Equal(expected.Value, samples.Single(expected.Name, expected.Labels), precision);
            }
            else
            {
                Assert.Equal(expected.Value, samples.Single(expected.Name, expected.Labels));
            }
        }

        foreach (var absent in export.Absent)
        {
            Assert.DoesNotContain(absent, text, StringComparison.Ordinal);
        }
    }

    [Fact]
    public async Task Histogram_uses_the_bucket_boundaries_advised_by_the_instrument()
    {
        var meterName = UniqueMeterName("advice");
        using var meter = new Meter(meterName);
        var (registry, bridge) = Bridge(meterName);
        using var _ = bridge;

        var histogram = meter.CreateHistogram<int>("batch.size", unit: "{item}", description: null, tags: null, advice: new InstrumentAdvice<int> { HistogramBucketBoundaries = [1, 10, 100] });
        histogram.Record(7);

        var text = await ScrapeAsync(registry);
        string[] buckets = [.. Parse(text).Named("batch_size_bucket").Select(s => s.Labels["le"])];
        Assert.Equal(["1", "10", "100", "+Inf"], buckets);
        Assert.Equal(1, Parse(text).Single("batch_size_bucket", ("le", "10")));
    }

    [Fact]
    public async Task Observable_gauge_is_exported_as_a_gauge_set_to_the_observed_value_at_scrape_time()
    {
        var meterName = UniqueMeterName("observable-gauge");
        using var meter = new Meter(meterName);
        var (registry, bridge) = Bridge(meterName);
        using var _ = bridge;

        var temperature = 21.5;
        meter.CreateObservableGauge("room.temperature", () => new Measurement<double>(temperature, new KeyValuePair<string, object?>("room", "a")));

        var first = await ScrapeAsync(registry);
        temperature = 19;
        var second = await ScrapeAsync(registry);

        Assert.Contains("# TYPE room_temperature gauge", Lines(first));
        Assert.Equal(21.5, Parse(first).Single("room_temperature", ("room", "a")));
        Assert.Equal(19, Parse(second).Single("room_temperature", ("room", "a")));
    }

    [Fact]
    public async Task Observable_counter_is_exported_as_a_counter_at_the_observed_cumulative_value()
    {
        var meterName = UniqueMeterName("observable-counter");
        using var meter = new Meter(meterName);
        var (registry, bridge) = Bridge(meterName);
        using var _ = bridge;

        long sent = 1024;
        meter.CreateObservableCounter("network.sent", () => sent, unit: "By");

        var first = await ScrapeAsync(registry);
        sent = 4096;
        var second = await ScrapeAsync(registry);

        Assert.Contains("# TYPE network_sent_bytes_total counter", Lines(first));
        Assert.Equal(1024, Parse(first).Single("network_sent_bytes_total"));
        Assert.Equal(4096, Parse(second).Single("network_sent_bytes_total"));
    }

    [Fact]
    public async Task Excluded_meters_are_absent_by_exact_name_and_by_prefix_and_exclusion_beats_the_allow_list()
    {
        var id = Guid.NewGuid().ToString("N");
        using var kept = new Meter($"Shop.{id}.Orders");
        using var exact = new Meter($"Shop.{id}.Secret");
        using var prefixed = new Meter($"Vendor.{id}.Internal.Cache");
        var (registry, bridge) = Bridge(meters: null, exclude: [$"Shop.{id}.Secret", $"Vendor.{id}.*"]);
        using var _ = bridge;

        kept.CreateCounter<int>($"kept_{id}").Add(1);
        exact.CreateCounter<int>($"exact_{id}").Add(1);
        prefixed.CreateCounter<int>($"prefixed_{id}").Add(1);

        var text = await ScrapeAsync(registry);
        Assert.Equal(1, Parse(text).Single($"kept_{id}_total"));
        Assert.DoesNotContain($"exact_{id}", text, StringComparison.Ordinal);
        Assert.DoesNotContain($"prefixed_{id}", text, StringComparison.Ordinal);

        var (allowRegistry, allowBridge) = Bridge(meters: [$"Shop.{id}.*"], exclude: [$"Shop.{id}.Secret"]);
        using var __ = allowBridge;
        kept.CreateCounter<int>($"kept_{id}").Add(1);
        exact.CreateCounter<int>($"exact_{id}").Add(1);
        prefixed.CreateCounter<int>($"prefixed_{id}").Add(1);

        var allowed = await ScrapeAsync(allowRegistry);
        Assert.Equal(1, Parse(allowed).Single($"kept_{id}_total"));
        Assert.DoesNotContain($"exact_{id}", allowed, StringComparison.Ordinal);
        Assert.DoesNotContain($"prefixed_{id}", allowed, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Meters_not_on_the_allow_list_are_absent_and_matching_is_case_sensitive()
    {
        var listed = UniqueMeterName("listed");
        using var listedMeter = new Meter(listed);
        using var otherMeter = new Meter(UniqueMeterName("other"));
        using var upperMeter = new Meter(listed.ToUpperInvariant());
        var (registry, bridge) = Bridge(listed);
        using var _ = bridge;

        listedMeter.CreateCounter<int>("listed").Add(1);
        otherMeter.CreateCounter<int>("other").Add(1);
        upperMeter.CreateCounter<int>("upper").Add(1);

        var text = await ScrapeAsync(registry);
        Assert.Equal(1, Parse(text).Single("listed_total"));
        Assert.DoesNotContain("other_total", text, StringComparison.Ordinal);
        Assert.DoesNotContain("upper_total", text, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Series_beyond_the_per_instrument_bound_are_dropped()
    {
        var meterName = UniqueMeterName("cardinality");
        using var meter = new Meter(meterName);
        var (registry, bridge) = Bridge(meterName, maxSeries: 5);
        using var _ = bridge;

        var counter = meter.CreateCounter<int>("user.logins");
        for (var i = 0; i < 50; i++)
        {
            counter.Add(1, new KeyValuePair<string, object?>("user", "u" + i));
        }

        // Existing series keep counting after the bound is reached.
        counter.Add(1, new KeyValuePair<string, object?>("user", "u0"));

        var text = await ScrapeAsync(registry);
        Assert.Equal(5, Parse(text).Named("user_logins_total").Count());
        Assert.Equal(2, Parse(text).Single("user_logins_total", ("user", "u0")));
    }

    [Fact]
    public async Task A_meter_created_after_the_bridge_started_is_exported()
    {
        var meterName = UniqueMeterName("late");
        var (registry, bridge) = Bridge(meterName);
        using var _ = bridge;

        using var meter = new Meter(meterName);
        meter.CreateCounter<long>("late.events").Add(4);

        var text = await ScrapeAsync(registry);
        Assert.Equal(4, Parse(text).Single("late_events_total"));
    }

    [Fact]
    public async Task Second_instrument_with_the_same_metric_name_is_skipped_without_throwing()
    {
        var first = UniqueMeterName("first");
        var second = UniqueMeterName("second");
        using var firstMeter = new Meter(first);
        using var secondMeter = new Meter(second);
        var (registry, bridge) = Bridge([first, second], []);
        using var _ = bridge;

        var winner = firstMeter.CreateCounter<int>("shared.name");
        var loser = secondMeter.CreateCounter<int>("shared_name");
        var gaugeWinner = firstMeter.CreateGauge<int>("shared.gauge");
        var otherKindLoser = secondMeter.CreateHistogram<double>("SharedGauge");
        winner.Add(1);
        loser.Add(10);
        gaugeWinner.Record(5);
        otherKindLoser.Record(1);

        var text = await ScrapeAsync(registry);
        Assert.Equal(1, Parse(text).Single("shared_name_total"));
        Assert.Single(Lines(text), l => l.StartsWith("# TYPE shared_name_total ", StringComparison.Ordinal));
        Assert.Contains("# TYPE shared_gauge gauge", Lines(text));
        Assert.Equal(5, Parse(text).Single("shared_gauge"));
        Assert.DoesNotContain("shared_gauge_bucket", text, StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_name_registered_as_another_type_is_skipped_and_the_app_keeps_running()
    {
        var meterName = UniqueMeterName("clash");
        using var meter = new Meter(meterName);
        var (registry, bridge) = Bridge(meterName);
        using var _ = bridge;
        Prometheus.Metrics.WithCustomRegistry(registry).CreateGauge("app_thing_total", "The app's own gauge.").Set(42);

        meter.CreateCounter<int>("app.thing").Add(1);
        meter.CreateCounter<int>("app.thing").Add(1);

        var text = await ScrapeAsync(registry);
        Assert.Equal(42, Parse(text).Single("app_thing_total"));
    }

    [Fact]
    public async Task Help_is_the_description_else_the_meter_and_instrument_names_escaped_for_the_exposition()
    {
        var meterName = UniqueMeterName("help");
        using var meter = new Meter(meterName);
        var (registry, bridge) = Bridge(meterName);
        using var _ = bridge;

        meter.CreateCounter<int>("described", unit: null, description: "Line one\nline two \\ end").Add(1);
        meter.CreateCounter<int>("undescribed").Add(1);

        var text = await ScrapeAsync(registry);
        Assert.Contains("# HELP described_total Line one\\nline two \\\\ end", Lines(text));
        Assert.Contains($"# HELP undescribed_total {meterName} undescribed", Lines(text));
    }

    [Fact]
    public async Task Disposing_the_bridge_stops_recording()
    {
        var meterName = UniqueMeterName("dispose");
        using var meter = new Meter(meterName);
        var (registry, bridge) = Bridge(meterName);
        var counter = meter.CreateCounter<int>("stopped");
        counter.Add(1);

        bridge.Dispose();
        counter.Add(100);
        bridge.Dispose();

        var text = await ScrapeAsync(registry);
        Assert.Equal(1, Parse(text).Single("stopped_total"));
    }

    [Fact]
    public async Task A_meter_recreated_under_the_same_name_continues_the_same_metric()
    {
        var meterName = UniqueMeterName("recreated");
        var (registry, bridge) = Bridge(meterName);
        using var _ = bridge;

        using (var meter = new Meter(meterName))
        {
            meter.CreateCounter<int>("restarts").Add(1);
        }

        using (var meter = new Meter(meterName))
        {
            meter.CreateCounter<int>("restarts").Add(2);
        }

        var text = await ScrapeAsync(registry);
        Assert.Equal(3, Parse(text).Single("restarts_total"));
    }

    [Fact]
    public async Task Many_tags_beyond_the_inline_buffer_still_find_their_series()
    {
        var meterName = UniqueMeterName("many-tags");
        using var meter = new Meter(meterName);
        var (registry, bridge) = Bridge(meterName);
        using var _ = bridge;

        var counter = meter.CreateCounter<int>("wide");
        var tags = new TagList();
        for (var i = 0; i < 10; i++)
        {
            tags.Add("t" + i, i);
        }

        counter.Add(1, tags);
        counter.Add(1, tags);

        var text = await ScrapeAsync(registry);
        var sample = Assert.Single(Parse(text).Named("wide_total"));
        Assert.Equal(2, sample.Value);
        Assert.Equal(10, sample.Labels.Count);
        Assert.Equal("9", sample.Labels["t9"]);
    }

    [Fact]
    public async Task Bridged_counters_and_histograms_carry_no_exemplars_even_inside_a_trace()
    {
        var meterName = UniqueMeterName("exemplars");
        using var meter = new Meter(meterName);
        var (registry, bridge) = Bridge(meterName);
        using var _ = bridge;

        using (new Activity("request").Start())
        {
            meter.CreateCounter<int>("traced").Add(1);
            meter.CreateHistogram<double>("traced.duration", unit: "s").Record(0.1);
        }

        using var stream = new MemoryStream();
        await registry.CollectAndExportAsTextAsync(stream, ExpositionFormat.OpenMetricsText);
        var text = System.Text.Encoding.UTF8.GetString(stream.ToArray());

        Assert.Contains("traced_total 1", text, StringComparison.Ordinal);
        Assert.DoesNotContain("trace_id", text, StringComparison.Ordinal);
    }

    [Fact]
    public void Recording_into_an_existing_series_allocates_nothing()
    {
        var meterName = UniqueMeterName("allocations");
        using var meter = new Meter(meterName);
        var (_, bridge) = Bridge(meterName);
        using var __ = bridge;

        var plain = meter.CreateCounter<long>("plain");
        var one = meter.CreateCounter<long>("one.tag");
        var three = meter.CreateHistogram<double>("three.tags", unit: "ms");
        var gauge = meter.CreateUpDownCounter<int>("updown");
        var route = new KeyValuePair<string, object?>("route", "/orders/{id}");
        var method = new KeyValuePair<string, object?>("method", "GET");
        var status = new KeyValuePair<string, object?>("status", (object)200);

        void RecordAll()
        {
            plain.Add(1);
            one.Add(1, route);
            three.Record(12.5, status, route, method);
            three.Record(12.5, method, status, route);
            gauge.Add(-1, method);
        }

        // The first round creates the series (and JIT-compiles the path).
        for (var i = 0; i < 10; i++)
        {
            RecordAll();
        }

        // The least of three rounds: a one-off runtime allocation on this thread while the whole suite runs in
        // parallel (type loading, tier-up) must not fail the test; an allocation per measurement shows in every round.
        var allocated = long.MaxValue;
        for (var round = 0; round < 3; round++)
        {
            var before = GC.GetAllocatedBytesForCurrentThread();
            for (var i = 0; i < 1_000; i++)
            {
                RecordAll();
            }

            allocated = Math.Min(allocated, GC.GetAllocatedBytesForCurrentThread() - before);
        }

        Assert.True(allocated == 0, $"{allocated} bytes allocated for 5000 measurements into existing series.");
    }

    [Fact]
    public async Task Concurrent_first_measurements_and_new_series_lose_nothing()
    {
        var meterName = UniqueMeterName("concurrent");
        using var meter = new Meter(meterName);
        var (registry, bridge) = Bridge(meterName);
        using var _ = bridge;

        var counter = meter.CreateCounter<long>("hits");
        var shards = new string[50];
        for (var i = 0; i < shards.Length; i++)
        {
            shards[i] = "s" + i;
        }

        using var start = new ManualResetEventSlim();
        var workers = new Task[8];
        for (var w = 0; w < workers.Length; w++)
        {
            workers[w] = Task.Factory.StartNew(
                () =>
                {
                    start.Wait();
                    for (var i = 0; i < 1_000; i++)
                    {
                        counter.Add(1, new KeyValuePair<string, object?>("shard", shards[i % shards.Length]));
                    }
                },
                TaskCreationOptions.LongRunning);
        }

        start.Set();
        await Task.WhenAll(workers);

        var text = await ScrapeAsync(registry);
        var samples = Parse(text);
        Assert.Equal(50, samples.Named("hits_total").Count());
        Assert.Equal(8_000, samples.Value("hits_total"));
    }

    [Fact]
    public async Task With_a_meter_scope_only_that_hosts_factory_meters_and_unscoped_meters_are_exported()
    {
        var meterName = UniqueMeterName("scoped");
        using var hostA = new ServiceCollection().AddMetrics().BuildServiceProvider();
        using var hostB = new ServiceCollection().AddMetrics().BuildServiceProvider();
        var factoryA = hostA.GetRequiredService<IMeterFactory>();
        var factoryB = hostB.GetRequiredService<IMeterFactory>();

        // Host B's meter exists first, so an unscoped bridge would let it win the name.
        var meterB = factoryB.Create(meterName);
        meterB.CreateCounter<int>("orders").Add(100);
        var registry = Prometheus.Metrics.NewCustomRegistry();
        using var bridge = new MeterBridge(registry, [meterName], [], meterScope: factoryA);
        var meterA = factoryA.Create(meterName);
        using var unscoped = new Meter(meterName);

        meterB.CreateCounter<int>("orders").Add(100);
        meterA.CreateCounter<int>("orders").Add(1);
        unscoped.CreateCounter<int>("shared.library.calls").Add(2);

        var text = await ScrapeAsync(registry);
        Assert.Equal(1, Parse(text).Single("orders_total"));
        Assert.Equal(2, Parse(text).Single("shared_library_calls_total"));
    }

    /// <summary>What one row records, and what the scrape must then show.</summary>
    private sealed record Export(Action<Meter> Record)
    {
        /// <summary>Whole <c># TYPE</c> and <c># HELP</c> lines of the exposition.</summary>
        public string[] Lines { get; init; } = [];

        public ExpectedSample[] Values { get; init; } = [];

        /// <summary>Strings found nowhere in the exposition.</summary>
        public string[] Absent { get; init; } = [];
    }

    /// <summary>The value of the one series <paramref name="Name"/> with exactly these labels; compared to <see cref="Precision"/> decimals when given.</summary>
    private sealed record ExpectedSample(string Name, double Value, params (string Key, string Value)[] Labels)
    {
        public int? Precision { get; init; }
    }
}
