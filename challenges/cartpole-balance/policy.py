"""Baseline policy: push the cart towards the side the pole leans to.

The platform calls act(observation) once per step and expects 0 (push left)
or 1 (push right). observation = [x, x_velocity, angle, angular_velocity].
Only the angle is used, so the pole is always corrected too late and
swings further each time; the angular velocity tells you where it is going.
"""


def act(observation):
    angle = observation[2]
    return 1 if angle > 0 else 0
