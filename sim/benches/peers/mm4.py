"""The engine bench's M/M/4 model (load 0.9, 1 ms exponential service, 4 servers, one FIFO
queue, the first tenth of completions left out) in two Python simulators, SimPy and Ciw, each
run timed by the process's CPU time. Prints one JSON object per tool: customers simulated per
second and the mean
response time, beside Erlang C's, so a fast but wrong peer would show.

Usage: python mm4.py [--customers N]   (in a venv from this folder's requirements.txt)
"""

import argparse
import json
import random
import time

RATE_PER_MS = 3.6  # 3,600 requests/s
SERVICE_MS = 1.0
SERVERS = 4


def erlang_c_response_ms(lam, mu, c):
    a = lam / mu
    rho = a / c
    term, total = 1.0, 0.0
    for k in range(c):
        total += term
        term *= a / (k + 1)
    top = term / (1 - rho)
    return (top / (total + top)) / (c * mu - lam) + 1 / mu


def simpy_run(customers, seed):
    import simpy

    rng = random.Random(seed)
    env = simpy.Environment()
    servers = simpy.Resource(env, capacity=SERVERS)
    responses = []

    def customer(arrival):
        with servers.request() as req:
            yield req
            yield env.timeout(rng.expovariate(1 / SERVICE_MS))
        responses.append(env.now - arrival)

    def source():
        for _ in range(customers):
            yield env.timeout(rng.expovariate(RATE_PER_MS))
            env.process(customer(env.now))

    env.process(source())
    env.run()
    return responses


def ciw_run(customers, seed):
    import ciw

    ciw.seed(seed)
    network = ciw.create_network(
        arrival_distributions=[ciw.dists.Exponential(rate=RATE_PER_MS)],
        service_distributions=[ciw.dists.Exponential(rate=1 / SERVICE_MS)],
        number_of_servers=[SERVERS],
    )
    simulation = ciw.Simulation(network)
    simulation.simulate_until_max_customers(customers, method="Finish")
    records = sorted(simulation.get_all_records(), key=lambda r: r.exit_date)
    return [r.exit_date - r.arrival_date for r in records]


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--customers", type=int, default=200_000)
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args()
    expected = erlang_c_response_ms(RATE_PER_MS, 1 / SERVICE_MS, SERVERS)
    for name, run in (("simpy", simpy_run), ("ciw", ciw_run)):
        start = time.process_time()
        responses = run(args.customers, args.seed)
        seconds = time.process_time() - start
        counted = responses[len(responses) // 10 :]
        mean = sum(counted) / len(counted)
        print(json.dumps({
            "tool": name,
            "customers": args.customers,
            "seconds": seconds,
            "customers_per_s": args.customers / seconds,
            "mean_response_ms": mean,
            "erlang_c_mean_response_ms": expected,
        }), flush=True)


if __name__ == "__main__":
    main()
