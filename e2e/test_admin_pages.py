"""The admin's RW and Satgas Pamor pages in a real browser: assign a satgas, axe-clean on every page."""
import re

from playwright.sync_api import expect


def test_admin_assigns_a_satgas_to_an_rw(fresh_context, staff_user, log_in, axe):
    admin = staff_user("admin")
    satgas = staff_user("satgas", name="Satgas Uji Admin")
    page = fresh_context("desktop").new_page()
    log_in(page, admin.username)

    page.goto("/admin/")
    expect(page.get_by_role("heading", level=1)).to_be_visible()
    axe(page, "admin home")

    page.goto("/admin/kelurahan/32.75.01.1002")
    axe(page, "admin kelurahan")
    choice = page.get_by_label(re.compile(r"^Satgas utama RW 0*2$"))
    choice.select_option(label=satgas.name)
    page.locator("form", has=choice).get_by_role("button").click()
    expect(page.get_by_role("status").filter(has_text=satgas.name)).to_be_visible()
    axe(page, "admin kelurahan after assigning")

    page.goto("/admin/satgas")
    expect(page.get_by_text(satgas.name).first).to_be_visible()
    axe(page, "admin satgas")
