"""The machine's name: one CPU name for the runtime table, evaluation records and benchmarks."""

from musiczoo_runtime import machine


def test_the_cpu_name_is_the_model_name_and_the_cores_this_process_may_use():
    assert 1 <= machine.cores() <= machine.os.cpu_count()
    model = machine.cpu_model()
    assert model and model == model.strip()
    assert machine.cpu_name() == f"{model} x{machine.cores()}"


def test_without_proc_cpuinfo_the_platform_names_the_cpu(monkeypatch):
    def missing(*args, **kwargs):
        raise FileNotFoundError("/proc/cpuinfo")

    monkeypatch.setattr("builtins.open", missing)
    assert machine.cpu_model() == (machine.platform.processor() or machine.platform.machine())
