# The Application Load Balancer: targets are task IPs, checked on /health/ (answered before host validation).
resource "aws_lb" "app" {
  name               = var.nome
  load_balancer_type = "application"
  security_groups    = [aws_security_group.alb.id]
  subnets            = local.sub_redes
  tags               = var.etiquetas
}

resource "aws_lb_target_group" "app" {
  name        = var.nome
  port        = var.porta
  protocol    = "HTTP"
  target_type = "ip"
  vpc_id      = local.vpc_id
  tags        = var.etiquetas

  health_check {
    path                = "/health/"
    matcher             = "200"
    interval            = 15
    healthy_threshold   = 2
    unhealthy_threshold = 3
  }
}

resource "aws_lb_listener" "http" {
  load_balancer_arn = aws_lb.app.arn
  port              = 80
  protocol          = "HTTP"
  tags              = var.etiquetas

  default_action {
    type             = "forward"
    target_group_arn = aws_lb_target_group.app.arn
  }
}
