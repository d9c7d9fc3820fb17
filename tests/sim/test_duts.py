"""DUT physics against closed forms: Shockley diode, RC low-pass, first-order thermal stage."""

from __future__ import annotations

import math

import numpy as np
import pytest

from instrumentkit.sim import Signal
from instrumentkit.sim.dut import Diode, RCLowPass, Resistor, ThermalStage, first_order

K_OVER_Q = 1.380649e-23 / 1.602176634e-19


def constant(volts: float) -> Signal:
    return Signal(lambda t: np.full(np.shape(t), volts))


def sine(frequency: float, amplitude: float = 1.0) -> Signal:
    return Signal(
        lambda t: amplitude * np.sin(2 * np.pi * frequency * t), frequency=lambda: frequency
    )


# -- resistor
def test_resistor_is_ohmic_for_scalars_and_arrays():
    load = Resistor(ohms=2e3)
    assert load.current(4.0) == pytest.approx(2e-3)
    assert isinstance(load.current(4.0), float)
    assert load.voltage(np.array([1e-3, -2e-3])) == pytest.approx([2.0, -4.0])
    assert Resistor(ohms=math.inf).current(5.0) == 0.0


# -- diode
def test_diode_without_series_resistance_is_the_shockley_equation():
    diode = Diode(saturation_current=1e-12, ideality=1.5, series_resistance=0.0, temperature=300)
    v = np.linspace(-1.0, 0.7, 50)
    vt = 1.5 * K_OVER_Q * 300
    assert diode.current(v) == pytest.approx(1e-12 * np.expm1(v / vt), rel=1e-9, abs=1e-25)


@pytest.mark.parametrize("rs", [0.1, 0.568, 50.0])
def test_diode_current_with_series_resistance_satisfies_the_implicit_equation(rs):
    diode = Diode(series_resistance=rs)
    v = np.linspace(-2.0, 5.0, 200)
    i = diode.current(v)
    vt = diode.ideality * K_OVER_Q * 300
    # I = Is (exp((V - I Rs) / n Vt) - 1): the residual is a tiny fraction of I.
    implicit = diode.saturation_current * np.expm1((v - i * rs) / vt)
    assert i == pytest.approx(implicit, rel=1e-7, abs=1e-18)
    assert np.all(np.diff(i) >= 0)
    assert np.all(np.diff(i[v > 0]) > 0)
    # Far forward the series resistance dominates: dI/dV tends to 1/Rs.
    slope = (diode.current(5.0) - diode.current(4.9)) / 0.1
    assert slope == pytest.approx(1 / rs, rel=0.05)


def test_diode_solve_converges_far_into_forward_and_reverse_bias():
    diode = Diode(series_resistance=2.0)
    v = np.array([-1e3, -1e-3, 0.0, 1e-3, 1e3])
    i = diode.current(v)
    assert np.all(np.isfinite(i))
    assert i[2] == 0.0
    assert i[0] == pytest.approx(-diode.saturation_current)
    assert i[-1] == pytest.approx((1e3 - 1.0) / 2.0, rel=1e-3)  # ~1 V on the junction
    assert diode.voltage(i[1:]) == pytest.approx(v[1:], rel=1e-9, abs=1e-12)


def test_diode_voltage_inverts_current_and_refuses_impossible_reverse_currents():
    diode = Diode()
    currents = np.array([1e-9, 1e-6, 1e-3, 0.1])
    assert diode.current(diode.voltage(currents)) == pytest.approx(currents, rel=1e-9)
    assert diode.voltage(-1.0) == -math.inf
    assert diode.current(100.0) == pytest.approx((100.0 - diode.voltage(0.0)) / 0.568, rel=0.02)


def test_diode_follows_temperature_like_a_silicon_junction():
    diode = Diode(saturation_current=1e-14, ideality=1.0, series_resistance=0.0)
    cold = diode.voltage(1e-3, kelvin=300.0)
    warm = diode.voltage(1e-3, kelvin=310.0)
    # A forward-biased junction at constant current: about -2 mV/K.
    assert (warm - cold) / 10 == pytest.approx(-2e-3, rel=0.25)
    # Is from the SPICE law, checked at a second temperature by hand.
    expected = 1e-14 * 2**3 * math.exp((2 - 1) * 1.11 / (K_OVER_Q * 600))
    assert diode.saturation(600.0) == pytest.approx(expected, rel=1e-12)


def test_diode_reads_a_wired_temperature_at_clock_time():
    diode = Diode()
    now = [0.0]
    diode.use_clock(lambda: now[0])
    diode.inputs()["temperature"](Signal(lambda t: 300.0 + t))
    at_300 = diode.current(0.6)
    now[0] = 20.0
    assert diode.kelvin() == pytest.approx(320.0)
    assert diode.current(0.6) > at_300
    assert diode.current(0.6) == pytest.approx(diode.current(0.6, kelvin=320.0))


# -- RC low-pass
@pytest.mark.parametrize("a", [0.0, 1e-3, 0.5, 0.995, 0.999999])
def test_first_order_recursion_matches_a_plain_loop(a):
    x = np.random.default_rng(1).normal(size=3000)
    expected, previous = np.empty_like(x), 0.7
    for n, value in enumerate(x):
        previous = expected[n] = a * previous + value
    assert first_order(x, a, 0.7) == pytest.approx(expected, rel=1e-9, abs=1e-9)


@pytest.mark.parametrize("frequency", [100.0, 1e3, 1e4])
def test_rc_time_response_matches_gain_and_phase_of_the_transfer_function(frequency):
    rc = RCLowPass(resistance=1.59e3, capacitance=100e-9)
    w_rc = 2 * math.pi * frequency * rc.tau
    times = 5.0 + np.arange(4096) / (frequency * 64)  # 64 whole periods, any start time
    out = rc.response(sine(frequency), times)
    phasor = 2 * np.mean(out * np.exp(-2j * np.pi * frequency * times)) * 1j
    assert abs(phasor) == pytest.approx(1 / math.sqrt(1 + w_rc**2), rel=2e-3)
    assert np.angle(phasor) == pytest.approx(-math.atan(w_rc), abs=2e-3)
    assert abs(rc.transfer(frequency)) == pytest.approx(1 / math.sqrt(1 + w_rc**2))


def test_rc_step_response_is_one_minus_exp():
    rc = RCLowPass(resistance=1e3, capacitance=1e-6)  # tau = 1 ms
    step = Signal(lambda t: np.where(t >= 0.0, 1.0, 0.0))
    times = np.array([0.0005, 0.001, 0.003])
    assert rc.response(step, times) == pytest.approx(1 - np.exp(-times / 1e-3), abs=3e-3)


def test_rc_passes_its_wired_input_through_output():
    rc = RCLowPass()
    assert rc.output()(np.zeros(3)) == pytest.approx(0.0)
    rc.connect(constant(2.0))
    assert rc.output()(np.array([1.0, 2.0])) == pytest.approx([2.0, 2.0])
    assert rc.input_impedance == rc.resistance


# -- thermal stage
def test_thermal_stage_step_response_is_first_order():
    stage = ThermalStage(heat_capacity=2.0, conductance=0.05, heater_resistance=25.0)
    stage.connect(constant(5.0))  # 1 W
    stage.advance(10.0)
    rise = 1.0 / 0.05
    tau = stage.time_constant
    times = 10.0 + np.array([0.5, 1.0, 2.0, 5.0]) * tau
    kelvin = stage.temperature(times)
    assert kelvin == pytest.approx(295.0 + rise * (1 - np.exp(-(times - 10.0) / tau)), rel=1e-9)
    assert stage.current(5.0) == pytest.approx(0.2)


def test_thermal_stage_integrates_a_ramped_heater_as_the_ode_does():
    stage = ThermalStage(heat_capacity=1.0, conductance=0.1, heater_resistance=1.0)  # tau 10 s
    stage.connect(Signal(lambda t: np.sqrt(np.clip(t, 0, None))))  # P = t watts
    stage.advance(0.0)
    # C dT/dt = t - G (T - Ta): T - Ta = (t - tau) / G + tau / G exp(-t / tau).
    t = 30.0
    exact = (t - 10.0) / 0.1 + 10.0 / 0.1 * math.exp(-t / 10.0)
    assert stage.temperature([t])[0] - 295.0 == pytest.approx(exact, rel=1e-3)


def test_thermal_stage_refuses_nonphysical_parameters():
    with pytest.raises(ValueError, match="positive"):
        ThermalStage(conductance=0.0)
    with pytest.raises(ValueError, match="positive"):
        RCLowPass(capacitance=-1.0)
