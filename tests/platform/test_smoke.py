def test_login_page_renders(client):
    response = client.get("/login")
    assert response.status_code == 200
    assert b'name="email"' in response.data and b'name="password"' in response.data


def test_admin_sees_people(login_as, admin, learner):
    client = login_as(admin)
    response = client.get("/admin/users")
    assert response.status_code == 200
    assert b"Lena Learner" in response.data
